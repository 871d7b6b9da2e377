"""On PostgreSQL a newest-first page without counts is found and re-checked in one statement:
the walk's rows go through the permission module's re-check inside the walk's own statement
(search.recheck.Folded). What it re-checked serves its viewer's page only; hits it did not
cover are re-checked by the ordinary statement."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feeds import actions as feed_actions
from feeds.models import Comment
from search import recheck, selectors
from search.backends import database_backend
from search.backends.base import SearchPage
from search.backends.database import hit

from .helpers import only_on, request, search

pytestmark = only_on("postgresql", "the walk and the re-check in one PostgreSQL statement")


@pytest.fixture
def backend():
    return "database"


def _walks(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if recheck.HITS in q["sql"]]


def test_the_walk_rechecks_its_rows_in_the_same_statement(world, commit):
    """A comment deleted behind the index's back (its document still there) is dropped by the
    folded re-check; a live comment keeps its post's author in its title; no statement of its
    own re-checks the page."""
    post = commit(feed_actions.create_post, author=world.bob, body="a petrel colony count")
    kept = commit(feed_actions.add_comment, post=post, author=world.alice, body="petrel eggs")
    gone = commit(feed_actions.add_comment, post=post, author=world.carol, body="petrel too")
    Comment.objects.filter(pk=gone.pk).update(deleted=gone.created)
    with CaptureQueriesContext(connection) as captured:
        results = search(world.carol, "petrel", kinds=("post",), with_counts=False)
    assert [(r.kind, r.pk) for r in results.results] == [("comment", kept.pk), ("post", post.pk)]
    assert results.dropped == 1
    assert results.results[0].title.endswith("a post by Bob Baker"), results.results[0].title
    assert len(_walks(captured)) == 1, captured.captured_queries
    separate = [q["sql"] for q in captured.captured_queries if "unnest(%s" in q["sql"]]
    assert separate == [], separate


def test_the_folded_recheck_uses_the_live_permission(world, commit):
    """A private group's post stays out of an outsider's page; a member's page carries the
    rows its walk re-checked, for that member only: handed to an outsider, the page is
    re-checked for them."""
    private = world.posts["private"]
    assert search(world.carol, "bittern", kinds=("post",), with_counts=False).results == []
    backend = database_backend()
    page = backend.search(
        request("bittern", kinds=("post",), with_counts=False), viewer=world.alice
    )
    assert isinstance(page.checked, recheck.CheckedRows)
    assert ("post", private.pk) in page.checked.covered
    assert private.pk in page.checked.posts
    results, dropped = selectors._checked(page, viewer=world.carol)
    assert results == [] and dropped == 1


def test_hits_the_walk_did_not_cover_are_rechecked_apart(world, commit):
    """A page mixing hits the walk re-checked and hits it did not (found through the GIN
    index): the covered ones come from the walk's rows, the others from a statement of
    their own, and each keeps only what the viewer may see."""
    everyone, secret = world.posts["everyone"], world.posts["secret"]
    agency = world.posts["agency"]
    folded = recheck.Folded.for_viewer(world.bob)
    page_sql = (
        "SELECT id, kind, object_id, NULL::real, '', '' FROM search_searchdocument "
        "WHERE kind = 'post' AND object_id = %s"
    )
    with connection.cursor() as cursor:
        sql, params = folded.wrap(page_sql, [everyone.pk])
        cursor.execute(sql, params)
        covered = folded.unwrap(cursor.fetchall())
    assert [(row[1], row[2]) for row in covered] == [("post", everyone.pk)]
    page = SearchPage(
        hits=[hit("post", secret.pk, 3), hit("post", agency.pk, 2), hit("post", everyone.pk, 1)],
        has_more=False,
        checked=folded.checked,
    )
    folded.checked.posts[everyone.pk]["body"] = "as the walk read it"  # to tell them apart
    results, dropped = selectors._checked(page, viewer=world.bob)
    assert [(r.kind, r.pk) for r in results] == [("post", agency.pk), ("post", everyone.pk)]
    assert dropped == 1  # the secret group's post: Bob is not a member
    assert results[1].raw_snippet == "as the walk read it"  # not asked again
    assert "nightingale" in results[0].raw_snippet  # asked in a statement of its own


def test_a_hashtag_walk_rechecks_in_its_planned_statement(world):
    """A walk with a hashtag filter is planned each time with its settings (not prepared):
    the folded re-check goes with it."""
    everyone = world.posts["everyone"]
    with CaptureQueriesContext(connection) as captured:
        results = search(
            world.carol, "kingfisher", hashtag="procurement", kinds=("post",), with_counts=False
        )
    assert [(r.kind, r.pk) for r in results.results] == [("post", everyone.pk)]
    walks = _walks(captured)
    assert len(walks) == 1 and "SET LOCAL" in walks[0], walks
