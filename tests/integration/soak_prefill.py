"""Give the soak's database the data of a site in use; run with the soak server's settings.

`soak_prefill.py N BIRD...`: Ana writes N posts (each names one of the BIRDs and a #soak
hashtag), Bob comments on each and Dora reacts to each, through the same actions as the API.
With these in place every page the soak reads (home pages, search results) is full from its
first minute, so the soak compares a steady state with itself, not pages filling up.
Prints the number of posts written.
"""

import os
import sys

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from feeds.actions import add_comment, create_post, react  # noqa: E402

count, birds = int(sys.argv[1]), sys.argv[2:]
people = get_user_model().objects.filter(username__in=["ana", "bob", "dora"])
users = {user.username: user for user in people}
kinds = ["like", "thanks", "insightful"]
for i in range(count):
    bird = birds[i % len(birds)]
    post = create_post(author=users["ana"], body=f"Earlier {i}: a {bird} by the lake #soak{i % 5}")
    add_comment(post=post, author=users["bob"], body=f"Seen the {bird} too")
    react(post=post, user=users["dora"], kind=kinds[i % len(kinds)])
with connection.cursor() as cursor:  # vacuumed and analysed, as a site in use would be
    cursor.execute("VACUUM ANALYZE")
print(count)
