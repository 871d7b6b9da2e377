"""On PostgreSQL the re-check's statements (the page's posts and comments, by id) are
prepared and keep one generic plan: planning them took longer than running them."""

from __future__ import annotations

import pytest
from django.db import connection

from feeds import actions as feed_actions

from .helpers import only_on, search

pytestmark = only_on("postgresql", "prepared statements")


@pytest.fixture
def backend():
    return "database"


def test_the_recheck_is_prepared_once_for_every_viewer(world, commit):
    post = commit(feed_actions.create_post, author=world.bob, body="a wren at the feeder")
    comment = commit(feed_actions.add_comment, post=post, author=world.carol, body="wren too")
    for _ in range(4):
        for viewer in (world.alice, world.bob, world.carol):
            found = {(r.kind, r.pk) for r in search(viewer, "wren", kinds=("post",)).results}
            assert found == {("post", post.pk), ("comment", comment.pk)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    recheck = {
        table: [plans for sql, plans in prepared if f'FROM "{table}"' in sql and "unnest" in sql]
        for table in ("feeds_post", "feeds_comment")
    }
    assert all(len(plans) == 1 and plans[0] >= 1 for plans in recheck.values()), prepared
