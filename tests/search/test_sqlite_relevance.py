"""SQLite: a one-term search sorted by relevance is ranked without FTS5's `bm25()`
(search/backends/sqlite.py, `_ranked_by_frequency`), whose IDF counts every document that
holds the term. The order, and the scores up to that IDF, must be bm25()'s own, whatever the
term's count in each column and the documents' lengths."""

from __future__ import annotations

import pytest
from django.db import connection

from feeds import actions as feed_actions
from groups import actions as group_actions
from search.backends import database_backend, sqlite
from search.backends.base import SORT_RELEVANCE
from search.backends.database import FTS_TABLE, TABLE

from .helpers import only_on, request

pytestmark = only_on("sqlite", "SQLite's FTS5 statements")

# Each a post: the term's count and the length vary together, so that BM25's saturation and
# length normalisation both decide the order (a count of 2 in a long post against 1 in a
# short one); hashtags put the term in the tags column, which weighs more than the body.
BODIES = [
    "wren",
    "wren wren",
    "wren wren",  # the same score: the newer first
    "wren " + "filler " * 40,
    "wren wren " + "filler " * 60,
    "wren wren wren " + "filler " * 120,
    "a note on the wren song at dawn",
    "the wren song again, the wren song",
    "wren #wren",
    "#wren only " + "filler " * 10,
    "wren owl",
    "no bird here",
]


@pytest.fixture
def backend():
    return "database"


@pytest.fixture
def wrens(world, commit):
    for body in BODIES:
        commit(feed_actions.create_post, author=world.alice, body=body)
    commit(group_actions.create_group, creator=world.bob, name="Wren watchers", kind="open")
    return world


def _bm25(search_request) -> list[tuple[int, float]]:
    """(document id, bm25 score) of every match of the request's kinds, in bm25()'s order:
    the reference (everything here is for everyone to see)."""
    match = sqlite.match_expression(search_request)
    kinds = list(search_request.document_kinds)
    marks = ", ".join(["%s"] * len(kinds))
    source = f"{FTS_TABLE} JOIN {TABLE} AS d ON d.id = {FTS_TABLE}.rowid"
    where = f"{FTS_TABLE} MATCH %s AND d.kind IN ({marks})"
    order = f"2, {FTS_TABLE}.rowid DESC"
    sql = f"SELECT {FTS_TABLE}.rowid, {sqlite.BM25} FROM {source} WHERE {where} ORDER BY {order}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [match, *kinds])
        return cursor.fetchall()


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("wren", {}),
        ("wren", {"kinds": ("post",)}),
        ('"wren song"', {}),
        ("wren -owl", {}),
        ("wren", {"agency_id": "agency"}),
    ],
)
def test_one_term_is_ranked_as_bm25_ranks_it(wrens, text, options):
    if options.get("agency_id") == "agency":
        options = {**options, "agency_id": wrens.alice.profile.agency_id}
    search_request = request(text, sort=SORT_RELEVANCE, limit=50, **options)
    assert sqlite._one_term(search_request.query)
    page = database_backend().search(search_request, viewer=wrens.alice)
    reference = _bm25(search_request)
    assert len(page.hits) >= 2
    assert [h.seq for h in page.hits] == [document_id for document_id, _ in reference]
    # Scores are bm25's without its IDF, a factor common to every document of the search.
    pairs = zip(page.hits, reference, strict=True)
    factors = {round(score / -h.score, 9) for h, (_id, score) in pairs}
    assert len(factors) == 1, factors


def test_pages_of_a_relevance_search_follow_one_another(wrens):
    """Offsets page through the same ranking, each document once."""
    backend, seen = database_backend(), []
    whole = backend.search(request("wren", sort=SORT_RELEVANCE, limit=50), viewer=wrens.alice)
    for offset in range(0, 12, 3):
        page = backend.search(
            request("wren", sort=SORT_RELEVANCE, limit=3, offset=offset), viewer=wrens.alice
        )
        seen += [h.seq for h in page.hits]
        assert page.has_more == (offset + 3 < len(whole.hits))
    assert seen == [h.seq for h in whole.hits]


def test_varints_read_sqlite_variable_length_integers():
    assert sqlite.varints(bytes([0x01, 0x00, 0x7F])) == [1, 0, 127]
    assert sqlite.varints(bytes([0x81, 0x00])) == [128]
    assert sqlite.varints(bytes([0xF2, 0xD8, 0x71])) == [1_879_153]
    assert sqlite.varints(bytes([0xFF] * 8 + [0x01])) == [(2**56 - 1) << 8 | 1]
