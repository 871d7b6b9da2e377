"""Build the live-updates integration world in the database DATABASE_URL names; print it.

Ana (Finance) owns the private group "budget" and the secret group "audit"; Bob (Health) is in
"budget"; Dora (Finance) is in "audit" and follows Ana; Carl (Health) is in no group; Erin
(Health) will be deactivated during a test. Everyone's password is LIVE_PASSWORD.
Prints JSON: {"users": {name: id}, "groups": {slug: id}, "tokens": {name: key}}.
"""

import json
import os
import sys

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")
django.setup()

from rest_framework.authtoken.models import Token  # noqa: E402

from groups.actions import create_group  # noqa: E402
from groups.models import Group, Membership  # noqa: E402
from profiles.actions import create_staff_member, follow  # noqa: E402
from profiles.models import Agency  # noqa: E402

PASSWORD = os.environ["LIVE_PASSWORD"]

finance = Agency.objects.create(name="Ministry of Finance", short_name="MoF", slug="mof")
health = Agency.objects.create(name="Department of Health", short_name="DoH", slug="doh")
people = {}
for name, agency in [
    ("ana", finance),
    ("bob", health),
    ("carl", health),
    ("dora", finance),
    ("erin", health),
]:
    people[name] = create_staff_member(
        username=name, display_name=name.title(), password=PASSWORD, agency=agency
    ).user
budget = create_group(creator=people["ana"], name="budget", kind=Group.Kind.PRIVATE)
audit = create_group(creator=people["ana"], name="audit", kind=Group.Kind.SECRET)
Membership.objects.create(group=budget, user=people["bob"])
Membership.objects.create(group=audit, user=people["dora"])
follow(follower=people["dora"], followee=people["ana"])
tokens = {name: Token.objects.create(user=user).key for name, user in people.items()}
print(
    json.dumps(
        {
            "users": {name: user.pk for name, user in people.items()},
            "groups": {group.slug: group.pk for group in (budget, audit)},
            "tokens": tokens,
        }
    )
)
