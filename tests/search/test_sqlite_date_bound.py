"""SQLite: a date filter's start is also a bound on the document id
(search/backends/sqlite.py, `first_id_since`), so a newest-first scan stops at the window's
start. The results must be exactly those of the filter on `created` alone, whatever the
order of ids and creation times."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feeds import actions as feed_actions
from search.backends import database_backend, sqlite
from search.models import SearchDocument

from .helpers import only_on, request

pytestmark = only_on("sqlite", "SQLite's FTS5 statements")

# Days ago each post was created, in the order the posts (and their documents) are made:
# ids and times disagree, so the lowest id in the window is not its oldest document.
DAYS_AGO = [5, 200, 10, 100, 300, 1, 89, 95, 20]
WINDOW_DAYS = 90


@pytest.fixture
def backend():
    return "database"


@pytest.fixture(autouse=True)
def _forget():
    sqlite.forget_first_ids()
    yield
    sqlite.forget_first_ids()


@pytest.fixture
def dated(world, commit):
    now = timezone.now()
    posts = []
    for i, days in enumerate(DAYS_AGO):
        post = commit(feed_actions.create_post, author=world.alice, body=f"curlew survey {i}")
        SearchDocument.objects.filter(kind=SearchDocument.Kind.POST, object_id=post.pk).update(
            created=now - timedelta(days=days)
        )
        posts.append(post)
    return world, posts


def _pages(viewer, **options) -> list[int]:
    backend, seen, after = database_backend(), [], None
    while True:
        page = backend.search(request("curlew", limit=2, after=after, **options), viewer=viewer)
        seen += [h.object_id for h in page.hits]
        if not page.has_more:
            return seen
        after = page.hits[-1].seq


def test_the_window_is_what_created_alone_selects(dated):
    world, posts = dated
    since = timezone.localdate() - timedelta(days=WINDOW_DAYS)
    expected = [
        post.pk for post, days in reversed(list(zip(posts, DAYS_AGO, strict=True))) if days < 90
    ]
    assert _pages(world.alice, date_from=since) == expected
    # Asked again, the bound comes from memory: the same pages.
    assert _pages(world.alice, date_from=since) == expected


def test_the_scan_is_bounded(dated):
    world, _posts = dated
    since = timezone.localdate() - timedelta(days=WINDOW_DAYS)
    with CaptureQueriesContext(connection) as queries:
        database_backend().search(request("curlew", date_from=since), viewer=world.alice)
    statements = [q["sql"] for q in queries.captured_queries if "MATCH" in q["sql"]]
    assert statements
    assert all("search_fts.rowid >= " in sql for sql in statements), statements


def test_a_document_made_after_the_bound_was_remembered_is_found(dated, commit):
    world, _posts = dated
    since = timezone.localdate() - timedelta(days=WINDOW_DAYS)
    before = _pages(world.alice, date_from=since)
    new = commit(feed_actions.create_post, author=world.alice, body="curlew survey, late")
    assert _pages(world.alice, date_from=since) == [new.pk, *before]


def test_a_window_with_nothing_in_it(dated):
    world, _posts = dated
    assert _pages(world.alice, date_from=timezone.localdate() + timedelta(days=1)) == []
