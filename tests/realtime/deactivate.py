"""Deactivate one account (by username) with the action, in the database DATABASE_URL names.
Prints what it logged at WARNING or above (a live message it could not publish), for the
test's failure message."""

import logging
import os
import sys

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")
django.setup()
logging.getLogger().addHandler(logging.StreamHandler(sys.stdout))

from django.contrib.auth import get_user_model  # noqa: E402

from profiles.actions import deactivate_user  # noqa: E402

deactivate_user(get_user_model().objects.get(username=sys.argv[1]))
print("deactivated", sys.argv[1])
