"""A first page's counts are the kinds of the first COUNT_CAP hits the viewer may see, newest
first: the same as walking every page and counting, whatever the page size, the cap, the
viewer or the filter. (On SQLite the counts reuse the page's own rows and ask only for the
older matches; on PostgreSQL one gathering serves both.)"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feeds import actions as feed_actions
from groups import actions as group_actions
from search.backends import database_backend, postgresql, sqlite

from .helpers import request

pytestmark = pytest.mark.django_db


@pytest.fixture
def backend():
    return "database"


@pytest.fixture
def grebes(world, commit):
    """Posts and comments with one word, in every audience, some a viewer may not see."""
    group_actions.join_group(group=world.open_group, user=world.bob)
    places = [
        {},
        {"audience": "agency"},
        {"audience": "group", "group": world.open_group},
        {"audience": "group", "group": world.private_group},
        {"audience": "group", "group": world.secret_group},
    ]
    for i, (author, place) in enumerate(itertools.product([world.alice, world.bob], places)):
        if place.get("group") in (world.private_group, world.secret_group):
            author = world.alice  # only members write there
        post = commit(feed_actions.create_post, author=author, body=f"grebe count {i}", **place)
        if i % 2:
            commit(feed_actions.add_comment, post=post, author=world.alice, body=f"grebe {i}")
    commit(feed_actions.create_post, author=world.carol, body="grebe seen elsewhere")
    return world


def _walked(viewer, text="grebe", **options) -> list[str]:
    """The kinds of every hit, newest first, page by page (two a page, no counts asked)."""
    backend, kinds, after = database_backend(), [], None
    while True:
        page = backend.search(
            request(text, limit=2, after=after, with_counts=False, **options), viewer=viewer
        )
        kinds += [h.kind for h in page.hits]
        if not page.has_more:
            return kinds
        after = page.hits[-1].seq


def _set_cap(monkeypatch, cap: int) -> None:
    monkeypatch.setattr(sqlite, "COUNT_CAP", cap)
    monkeypatch.setattr(postgresql, "COUNT_CAP", cap)


@pytest.mark.parametrize(("text", "cap"), [("grebe", 3), ("grebe", 7), ("grebe", 100), ("", 5)])
def test_first_page_counts_are_the_first_hits_kinds(grebes, monkeypatch, text, cap):
    """With words, and without (everything the viewer may see, newest first)."""
    world = grebes
    _set_cap(monkeypatch, cap)
    cases = itertools.product(
        [world.alice, world.bob, world.carol], [{}, {"agency_id": world.agency_a.pk}]
    )
    for viewer, filters in cases:
        expected = Counter(_walked(viewer, text, **filters)[:cap])
        assert expected  # every viewer sees some
        for limit in (1, 2, 3, 5, 8, 20):
            page = database_backend().search(
                request(text, limit=limit, with_counts=True, **filters), viewer=viewer
            )
            assert Counter(page.counts) == expected, (viewer, filters, cap, limit)
    # the alice's cases above reach the cap, the others do not all
    assert len(_walked(world.alice)) > 7


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's statements")
def test_a_page_that_holds_every_match_runs_no_count_query(grebes):
    world = grebes
    everything = len(_walked(world.carol))
    for limit, statements in ((everything, 1), (everything - 1, 2)):
        with CaptureQueriesContext(connection) as queries:
            database_backend().search(
                request("grebe", limit=limit, with_counts=True), viewer=world.carol
            )
        matches = [q["sql"] for q in queries.captured_queries if "MATCH" in q["sql"]]
        assert len(matches) == statements, (limit, matches)
