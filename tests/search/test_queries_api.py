"""The search endpoint's cost in queries, and the shortcuts that keep it low.

`GET /api/search/` runs a fixed number of queries whatever the page holds (no query per
result), reads the viewer's agency once, and answers exactly what the DRF serializers that
describe it in the schema would. Counts of queries, never times.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from feeds import actions as feed_actions
from feeds.models import Comment, Post
from profiles.models import Profile
from search import selectors
from search.api import SearchResponseSerializer, response_data
from search.backends import postgresql
from search.backends.base import SearchPage
from search.backends.database import hit

from .helpers import request as search_request

pytestmark = pytest.mark.django_db

SEARCH = reverse("api-search")


@pytest.fixture
def backend():
    return "database"  # the queries counted are the database backend's


@pytest.fixture
def token_client(world):
    client = APIClient()
    token = Token.objects.create(user=world.carol)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture(autouse=True)
def _long_range_cache(monkeypatch):
    # PostgreSQL remembers the id range for a few seconds: long enough for these tests.
    monkeypatch.setattr(postgresql, "_RANGE_TTL", 600.0)


def _queries(client, params: dict) -> list[str]:
    client.get(SEARCH, params)  # warm: per-connection settings, compiled SQL, the id range
    with CaptureQueriesContext(connection) as captured:
        response = client.get(SEARCH, params)
    assert response.status_code == 200, response.content
    return [q["sql"] for q in captured.captured_queries]


def _fill(world, commit, n: int) -> None:
    for i in range(n):
        post = commit(feed_actions.create_post, author=world.alice, body=f"puffin report {i}")
        commit(feed_actions.add_comment, post=post, author=world.bob, body=f"puffin reply {i}")


# Token, user and profile (the viewer's agency: intranet.api_authentication); the search; then
# its counts (SQLite, when asked) or its snippets (PostgreSQL, when the search counts: without
# counts its walk returns them); the page's posts and comments, re-checked by the permission
# module (one statement; on PostgreSQL without counts, inside the walk's: search.recheck).
EXPECTED_QUERIES = 4


@pytest.mark.parametrize("counts", [True, False])
def test_the_endpoint_runs_a_fixed_number_of_queries(world, commit, token_client, counts):
    params = {"q": "puffin", "kind": "post", **({"counts": "true"} if counts else {})}
    _fill(world, commit, 2)
    few = _queries(token_client, params)
    _fill(world, commit, 15)
    response = token_client.get(SEARCH, params)
    assert len(response.json()["results"]) == 20
    many = _queries(token_client, params)
    sqlite = connection.vendor == "sqlite"
    folded = not sqlite and not counts
    assert len(many) == EXPECTED_QUERIES - (not counts) - folded, many
    # With every match on its page, SQLite runs no count query: it counts the page's rows.
    assert len(few) == EXPECTED_QUERIES - (sqlite or not counts) - folded, few


def test_the_viewers_agency_is_read_once_per_search(world, commit, token_client):
    _fill(world, commit, 3)
    sql = _queries(token_client, {"q": "puffin", "kind": "post"})
    profile_table = Profile._meta.db_table
    # Read with the token (a JOIN of its statement), and by no statement of its own.
    assert f'JOIN "{profile_table}"' in sql[0] and '"authtoken_token"' in sql[0], sql
    assert sum(f'FROM "{profile_table}"' in q for q in sql) == 0, sql


def test_a_move_to_another_agency_is_seen_by_the_next_search(world, commit):
    agency_post = commit(
        feed_actions.create_post, author=world.alice, body="cormorant plan", audience="agency"
    )
    page = SearchPage(hits=[hit("post", agency_post.pk, 1)], has_more=False)
    assert [r.pk for r in selectors._checked(page, viewer=world.bob)[0]] == [agency_post.pk]
    assert selectors._checked(page, viewer=world.carol)[0] == []
    Profile.objects.filter(user=world.carol).update(agency=world.agency_a)
    Profile.objects.filter(user=world.bob).update(agency=world.agency_b)
    assert [r.pk for r in selectors._checked(page, viewer=world.carol)[0]] == [agency_post.pk]
    assert selectors._checked(page, viewer=world.bob)[0] == []


def test_the_recheck_drops_what_the_index_should_not_have_given(world, commit):
    """Whatever a backend hands over, the page keeps only what the permission module allows
    (here: hits for a secret group's post and a deleted post, given to an outsider)."""
    secret = world.posts["secret"]
    public = world.posts["everyone"]
    gone = commit(feed_actions.create_post, author=world.alice, body="tern notes")
    comment = commit(feed_actions.add_comment, post=secret, author=world.alice, body="tern")
    Post.objects.filter(pk=gone.pk).update(deleted=gone.created)
    page = SearchPage(
        hits=[
            hit("post", secret.pk, 5),
            hit("comment", comment.pk, 4),
            hit("post", gone.pk, 3),
            hit("post", public.pk, 2),
        ],
        has_more=False,
    )
    results, dropped = selectors._checked(page, viewer=world.carol)
    assert [(r.kind, r.pk) for r in results] == [("post", public.pk)]
    assert dropped == 3
    results, dropped = selectors._checked(page, viewer=world.alice)
    assert [(r.kind, r.pk) for r in results] == [
        ("post", secret.pk),
        ("comment", comment.pk),
        ("post", public.pk),
    ]
    assert results[1].url.endswith(f"/posts/{secret.pk}/#comment-{comment.pk}")


def test_the_recheck_drops_deleted_comments_and_keeps_their_posts_apart(world, commit):
    """Comments come in the same statement as the posts: a deleted comment (a stale index)
    is dropped, a live one on a post that is not itself a hit is kept, with its post's author
    in its title, and that post is not shown as a result of its own."""
    public = world.posts["everyone"]
    other = commit(feed_actions.create_post, author=world.bob, body="skua notes")
    kept = commit(feed_actions.add_comment, post=other, author=world.alice, body="skua")
    gone = commit(feed_actions.add_comment, post=public, author=world.alice, body="skua too")
    Comment.objects.filter(pk=gone.pk).update(deleted=gone.created)
    page = SearchPage(
        hits=[hit("comment", gone.pk, 9), hit("comment", kept.pk, 8), hit("post", public.pk, 2)],
        has_more=False,
    )
    for viewer in (world.alice, world.carol):
        results, dropped = selectors._checked(page, viewer=viewer)
        assert [(r.kind, r.pk) for r in results] == [("comment", kept.pk), ("post", public.pk)]
        assert dropped == 1
        bob = world.bob.profile.display_name or world.bob.username
        assert results[0].title.endswith(f"a post by {bob}"), results[0].title


@pytest.mark.parametrize(
    ("language", "in_place", "commented"),
    [
        ("en", "{} in {}", "{} commented on a post by {}"),
        ("fr", "{} dans {}", "{} a commenté une publication de {}"),
    ],
)
def test_result_titles_say_who_and_where_in_the_page_language(
    world, commit, language, in_place, commented
):
    """A result's title names its author and the group (or, for an agency post, the agency)
    it was posted in; a comment's, its author and the post's. The wording is looked up once
    for a page, in the language active for it."""
    posts = world.posts
    comment = commit(feed_actions.add_comment, post=posts["open"], author=world.bob, body="ok")
    page = SearchPage(
        hits=[
            hit("comment", comment.pk, 9),
            hit("post", posts["open"].pk, 4),
            hit("post", posts["agency"].pk, 3),
            hit("post", posts["everyone"].pk, 2),
        ],
        has_more=False,
    )
    with translation.override(language):
        results, _dropped = selectors._checked(page, viewer=world.alice)
    assert [r.title for r in results] == [
        commented.format("Bob Baker", "Alice Archer"),
        in_place.format("Alice Archer", "Open Data Network"),
        in_place.format("Alice Archer", "Ministry of Finance"),
        "Alice Archer",
    ]


@pytest.mark.parametrize("counted", [True, False])
@pytest.mark.parametrize("kind", ["post", ""])
def test_the_response_is_what_the_serializers_give(world, commit, kind, counted):
    for i in range(3):
        post = commit(feed_actions.create_post, author=world.alice, body=f"<b>gannet</b> {i}")
        commit(feed_actions.add_comment, post=post, author=world.bob, body=f"gannet & co {i}")
    params = {"q": "gannet", "limit": "4", **({"kind": kind} if kind else {})}
    http = Request(APIRequestFactory().get(SEARCH, params))
    results = selectors.search(
        viewer=world.alice,
        request=search_request(
            "gannet", limit=4, kinds=(kind,) if kind else (), with_counts=counted
        ),
    )
    assert results.results and results.next_cursor
    assert results.counted is counted and bool(results.counts) is counted
    payload = {
        "results": results.results,
        "counts": results.counts if counted else None,
        "counts_capped": results.capped if counted else None,
        "next": None,
        "notice": results.notice,
        "backend": results.backend,
    }
    expected = SearchResponseSerializer(payload, context={"request": http}).data
    got = response_data(results, http)
    assert got["next"].startswith("http://testserver/api/search/?") and "cursor=" in got["next"]
    got["next"] = None
    assert got == expected
