"""The configured services are the real ones: the database and the channel layer that the
environment names are the ones the tests talk to.

CI runs the suite twice: once on the embedded default and once with DATABASE_URL on
PostgreSQL and REDIS_URL on Redis. Under CI=true these never skip.
"""

import os
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from feeds.actions import create_post
from feeds.models import Post
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.integration


@pytest.mark.django_db
def test_database_is_the_one_the_environment_names():
    """DATABASE_URL=postgres://... really runs the suite on PostgreSQL (and SQLite otherwise)."""
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        query = "SELECT version()" if expected == "postgresql" else "SELECT sqlite_version()"
        cursor.execute(query)
        assert cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_post_survives_a_real_commit(user):
    """A post written through the action is committed and read back on a fresh connection."""
    post = create_post(author=user, body="Committed for real #integration")
    connection.close()
    stored = Post.objects.get(pk=post.pk)
    assert stored.body == "Committed for real #integration"
    assert list(stored.hashtags.values_list("name", flat=True)) == ["integration"]


def test_channel_layer_round_trip():
    """The channel layer REDIS_URL selects carries a message from a group to a channel."""
    if not settings.REDIS_URL:
        if os.environ.get("CI", "").lower() == "true" and os.environ.get("DATABASE_URL"):
            pytest.fail("CI's service run must set REDIS_URL")
        layer = get_channel_layer()
        assert type(layer).__name__ == "InMemoryChannelLayer"
    else:
        layer = get_channel_layer()
        assert type(layer).__name__ == "RedisChannelLayer"
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
        except Exception as exc:  # noqa: BLE001
            skip_or_fail(f"Redis at {settings.REDIS_URL} is unreachable: {exc}")

    group = f"test-{uuid.uuid4().hex}"

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        await layer.group_send(group, {"type": "post.created", "id": 42})
        message = await layer.receive(channel)
        await layer.group_discard(group, channel)
        return message

    assert async_to_sync(round_trip)() == {"type": "post.created", "id": 42}
