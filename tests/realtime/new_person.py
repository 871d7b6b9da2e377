"""Add one member of staff (username given, agency "doh", password LIVE_PASSWORD) to the
database DATABASE_URL names, for a test that needs someone no other test uses."""

import os
import sys

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")
django.setup()

from profiles.actions import create_staff_member  # noqa: E402
from profiles.models import Agency  # noqa: E402

username = sys.argv[1]
create_staff_member(
    username=username,
    display_name=username.title(),
    password=os.environ["LIVE_PASSWORD"],
    agency=Agency.objects.get(slug="doh"),
)
print("created", username)
