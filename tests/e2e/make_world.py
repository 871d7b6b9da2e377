"""Build the small world the browser tests use, in the database DATABASE_URL names.

Run as a separate process (the server under test has its own database, not pytest's).
"""

import os
import sys

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")
django.setup()

from groups.actions import create_group, join_group  # noqa: E402
from groups.models import Group, Membership  # noqa: E402
from intranet.management.commands.seed_demo import seed_intranet  # noqa: E402
from profiles.actions import create_staff_member  # noqa: E402
from profiles.models import Agency  # noqa: E402

PASSWORD = os.environ["E2E_PASSWORD"]

finance = Agency.objects.create(name="Ministry of Finance", short_name="MoF", slug="mof")
health = Agency.objects.create(name="Department of Health", short_name="DoH", slug="doh")
ana = create_staff_member(
    username="ana", display_name="Ana Martin", password=PASSWORD, agency=finance
).user
bob = create_staff_member(
    username="bob", display_name="Bob Novak", password=PASSWORD, agency=health
).user
carl = create_staff_member(
    username="carl", display_name="Carl Weber", password=PASSWORD, agency=health
).user
# Dana reads Agora in French (her profile's choice): the accessibility audit's French pages.
create_staff_member(
    username="dana",
    display_name="Dana Lefèvre",
    password=PASSWORD,
    agency=finance,
    preferred_language="fr",
)
budget = create_group(
    creator=ana, name="Budget 2027", description="Cross-agency budget.", kind=Group.Kind.PRIVATE
)
Membership.objects.create(group=budget, user=bob)
open_group = create_group(creator=bob, name="Open Data Network", kind=Group.Kind.OPEN)
join_group(group=open_group, user=carl)
# The demo's intranet (guides, a page per agency, news announced in the feeds), published by
# `editor`: the accessibility audit reads its pages.
create_staff_member(
    username="editor", display_name="Edith Editor", password=PASSWORD, agency=finance
)
seed_intranet()
print("world ready")
