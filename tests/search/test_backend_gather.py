"""PostgreSQL newest-first gathering: whichever way the windows go (walks, GIN windows, a
rare word's first window sized from the statistics), the pages are the same."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feeds import actions as feed_actions
from search.backends import database_backend, postgresql
from search.backends.base import SORT_RELEVANCE

from .helpers import only_on, request

pytestmark = only_on("postgresql", "PostgreSQL's own planning")


@pytest.fixture
def backend():
    return "database"


def _all_pages(viewer, text: str, **options) -> list[int]:
    backend, seen, after = database_backend(), [], None
    while True:
        page = backend.search(request(text, limit=4, after=after, **options), viewer=viewer)
        seen += [h.seq for h in page.hits]
        if not page.has_more:
            return seen
        after = page.hits[-1].seq


@pytest.fixture
def plovers(world, commit):
    audiences = [
        {},
        {"audience": "agency"},
        {"audience": "group", "group": world.private_group},
        {"audience": "group", "group": world.open_group},
    ]
    for i in range(24):
        commit(
            feed_actions.create_post,
            author=world.alice,
            body=f"plover count {i}",
            **audiences[i % len(audiences)],
        )
        if i % 5 == 0:
            commit(feed_actions.create_post, author=world.bob, body=f"unrelated note {i}")
    return world


@pytest.mark.parametrize("rare", [False, True])
@pytest.mark.parametrize("walk_docs", [2, 5, 3000])
def test_every_way_of_gathering_gives_the_same_pages(plovers, monkeypatch, rare, walk_docs):
    world = plovers
    expected = {v.username: _all_pages(v, "plover") for v in (world.alice, world.bob, world.carol)}
    assert len(expected["alice"]) == 24 and 0 < len(expected["carol"]) < 24
    monkeypatch.setattr(postgresql, "WALK_DOCS", walk_docs)
    monkeypatch.setattr(postgresql, "RARE_MATCHES", 0)
    if rare:  # as if the statistics said the word is rare: no first walk
        monkeypatch.setattr(postgresql, "_density_bound", lambda query: 0.01)
    for viewer in (world.alice, world.bob, world.carol):
        assert _all_pages(viewer, "plover") == expected[viewer.username]
        counted = database_backend().search(request("plover", with_counts=True), viewer=viewer)
        assert sum(counted.counts.values()) == len(expected[viewer.username])
        ranked = database_backend().search(
            request("plover", sort=SORT_RELEVANCE, limit=50), viewer=viewer
        )
        assert sorted(h.seq for h in ranked.hits) == sorted(expected[viewer.username])


@pytest.mark.parametrize("walk", [True, False])
@pytest.mark.parametrize("filtered", [False, True])
def test_walks_and_gin_windows_give_the_same_pages(plovers, monkeypatch, walk, filtered):
    """Every window walked, or every window read through the GIN index (the last one, the
    rest of the index, too), with and without an agency filter: the same pages."""
    world = plovers
    options = {"agency_id": world.alice.profile.agency_id} if filtered else {}
    viewers = (world.alice, world.bob, world.carol)
    expected = {v.username: _all_pages(v, "plover", **options) for v in viewers}
    assert expected["alice"]
    monkeypatch.setattr(postgresql, "WALK_DOCS", 2)
    monkeypatch.setattr(postgresql, "RARE_MATCHES", 0)
    monkeypatch.setattr(postgresql, "_walk_is_cheaper", lambda *args: walk)
    for viewer in viewers:
        assert _all_pages(viewer, "plover", **options) == expected[viewer.username]


def _query(**options) -> postgresql._Query:
    return postgresql._Query(
        words=["english", "plover"], filters="1 = 1", filter_params=[], allowed="TRUE",
        allowed_params=[], **options,
    )  # fmt: skip


def test_a_frequent_word_with_an_agency_filter_is_walked(world, monkeypatch):
    """A GIN window reads the word's whole posting list whatever the filter: for a word in
    10% of 2,000,000 documents, walking the agency's documents of 230,000 ids costs less;
    for a word in 1%, or one too rare to be listed, the GIN index does."""
    span, window = 2_000_000, 230_000
    # Visible matches per document of one agency's word: share x 1/40 agencies x 0.6.
    filtered = _query(indexed_filter=True)
    monkeypatch.setattr(postgresql, "_lexeme_stats", lambda: ({"plover": 0.1}, 0.002))
    assert postgresql._walk_is_cheaper(filtered, 0.0015, window, span)
    monkeypatch.setattr(postgresql, "_lexeme_stats", lambda: ({"plover": 0.01}, 0.002))
    assert not postgresql._walk_is_cheaper(filtered, 0.00015, window, span)
    monkeypatch.setattr(postgresql, "_lexeme_stats", lambda: ({"budget": 0.2}, 0.002))
    assert not postgresql._walk_is_cheaper(filtered, 0.00003, window, span)
    # Without a filter a walk tests every document: only a short window of a frequent word.
    monkeypatch.setattr(postgresql, "_lexeme_stats", lambda: ({"plover": 0.1}, 0.002))
    assert postgresql._walk_is_cheaper(_query(), 0.06, 3_000, span)
    monkeypatch.setattr(postgresql, "_lexeme_stats", lambda: ({"plover": 0.001}, 0.0005))
    assert not postgresql._walk_is_cheaper(_query(), 0.0006, window, span)


def test_the_lexemes_of_a_query(world):
    lexemes = postgresql._lexemes
    assert lexemes(["english", "plovers"]) == ["plover"]
    assert lexemes(["english", '"budget review"']) == ["budget", "review"]
    assert lexemes(["english", "budget or review"]) is None
    assert lexemes(["english", "budget -review"]) is None
    assert lexemes(["english", "the"]) is None  # a stop word: nothing to look up


def test_only_words_missing_from_the_statistics_get_a_bound(world, monkeypatch):
    monkeypatch.setattr(postgresql, "_lexeme_stats", lambda: ({"budget": 0.2}, 0.01))
    query = postgresql._Query(
        words=["english", "budget"], filters="1 = 1", filter_params=[], allowed="TRUE",
        allowed_params=[],
    )  # fmt: skip
    assert postgresql._density_bound(query) is None
    query.words = ["english", "plover"]
    assert postgresql._density_bound(query) == pytest.approx(0.01 * postgresql.VISIBLE_SHARE)
    query.indexed_filter = True
    assert postgresql._density_bound(query) is None


def _pages_with_snippets(viewer, text: str, **options) -> list[tuple]:
    backend, seen, after = database_backend(), [], None
    while True:
        page = backend.search(request(text, limit=4, after=after, **options), viewer=viewer)
        seen += [(h.kind, h.object_id, h.seq, h.snippet, h.title_snippet) for h in page.hits]
        if not page.has_more:
            return seen
        after = page.hits[-1].seq


@pytest.mark.parametrize("rare", [False, True])
@pytest.mark.parametrize("walk_docs", [2, 5, 3000])
def test_headlines_made_by_the_walk_are_those_of_their_own_statement(
    plovers, commit, monkeypatch, rare, walk_docs
):
    """Without counts a walk returns its rows' headlines; with counts (or for rows read through
    the GIN index) one statement makes them after the gathering: the same snippets (long
    posts, so that the headline's length and fragments matter)."""
    world = plovers
    for i in range(6):
        words = [f"filler{j}" for j in range(80)]
        words[10 + 9 * i] = "plover"
        words[60 - i] = "count"
        commit(feed_actions.create_post, author=world.bob, body=" ".join(words))
    monkeypatch.setattr(postgresql, "WALK_DOCS", walk_docs)
    monkeypatch.setattr(postgresql, "RARE_MATCHES", 0)
    if rare:
        monkeypatch.setattr(postgresql, "_density_bound", lambda query: 0.01)
    for viewer in (world.alice, world.carol):
        counted = _pages_with_snippets(viewer, "plover count", with_counts=True)
        assert counted and all("\x02" in snippet for *_ids, snippet, _title in counted)
        assert _pages_with_snippets(viewer, "plover count", with_counts=False) == counted


def _whole_body_headline(body: str, text: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts_headline(%s::regconfig, %s, websearch_to_tsquery(%s::regconfig, %s), %s)",
            [postgresql.conf.language(), body, postgresql.conf.language(), text,
             postgresql.HEADLINE],
        )  # fmt: skip
        return cursor.fetchone()[0]


@pytest.mark.parametrize("with_counts", [False, True])
def test_a_long_post_s_snippet_is_made_from_its_first_part_when_the_word_lies_there(
    world, commit, with_counts
):
    """Snippets of posts over HEADLINE_PREFIX characters, from a walk (no counts) and from
    the statement after a gathering (counts): the same as the whole body's when the word is
    near the start, when it lies only past the first part, when the body does not hold it,
    and for two words on both sides of the cut; never a word cut at the first part's end
    taken for the word."""
    limit = postgresql.HEADLINE_PREFIX
    early = "a plover seen early " + "filler " * 600
    # "ploverines" is not "plover", but its first six letters end the first part (and the
    # character after it, which tells whether a word was cut) exactly.
    before = "fillers " + "filler " * ((limit + 1 - 6 - 8) // 7)
    assert len(before) == limit + 1 - 6
    late = before + "ploverines " + "filler " * 300 + "finally the plover came"
    posts = {
        body: commit(feed_actions.create_post, author=world.alice, body=body)
        for body in (early, late)
    }
    page = database_backend().search(
        request("plover", limit=5, with_counts=with_counts), viewer=world.carol
    )
    snippets = {h.object_id: h.snippet for h in page.hits}
    assert snippets[posts[early].pk] == _whole_body_headline(early, "plover")
    assert "\x02plover\x03 seen early" in snippets[posts[early].pk]
    assert snippets[posts[late].pk] == _whole_body_headline(late, "plover")
    assert "finally the \x02plover\x03 came" in snippets[posts[late].pk]
    assert snippets[posts[late].pk].count("\x02") == 1
    # Two words, one in each part: from the whole body, whose fragments hold both.
    spread = "a grebe here " + "filler " * 300 + "and a plover there"
    posts[spread] = commit(feed_actions.create_post, author=world.alice, body=spread)
    page = database_backend().search(
        request("grebe plover", limit=5, with_counts=with_counts), viewer=world.carol
    )
    assert [h.object_id for h in page.hits] == [posts[spread].pk]
    assert page.hits[0].snippet == _whole_body_headline(spread, "grebe plover")
    assert "\x02grebe\x03" in page.hits[0].snippet and "\x02plover\x03" in page.hits[0].snippet
    # Found by its author's name, the body matching nothing: the body's first words.
    page = database_backend().search(
        request("Archer", limit=5, with_counts=with_counts), viewer=world.carol
    )
    snippets = {h.object_id: h.snippet for h in page.hits}
    assert snippets[posts[late].pk] == _whole_body_headline(late, "Archer")
    assert snippets[posts[late].pk].startswith("fillers filler")


def test_a_page_walked_whole_makes_its_headlines_in_the_walk(plovers):
    backend = database_backend()
    with CaptureQueriesContext(connection) as captured:
        page = backend.search(request("plover", limit=4, with_counts=False), viewer=plovers.alice)
    assert len(page.hits) == 4 and all("\x02" in h.snippet for h in page.hits)
    headlines = [q["sql"] for q in captured.captured_queries if "ts_headline" in q["sql"]]
    assert headlines and all("ts_match_vq" in sql for sql in headlines), headlines
    with CaptureQueriesContext(connection) as captured:
        backend.search(request("plover", limit=4, with_counts=True), viewer=plovers.alice)
    headlines = [q["sql"] for q in captured.captured_queries if "ts_headline" in q["sql"]]
    assert len(headlines) == 1 and "ts_match_vq" not in headlines[0], headlines


def test_a_page_of_a_listed_word_is_walked_in_one_statement(plovers, monkeypatch):
    """Without counts, the first walk of a word the statistics list is sized by its share to
    hold the page (up to twice WALK_DOCS): one walk where WALK_DOCS alone needed two."""
    monkeypatch.setattr(postgresql, "WALK_DOCS", 4)
    postgresql.forget_cached_statistics()  # the id range another test's documents left
    backend = database_backend()

    def walked(**options) -> tuple[int, list]:
        with CaptureQueriesContext(connection) as captured:
            page = backend.search(request("plover", limit=4, **options), viewer=plovers.alice)
        walks = sum("ts_match_vq" in q["sql"] for q in captured.captured_queries)
        return walks, [(h.seq, h.snippet) for h in page.hits]

    monkeypatch.setattr(postgresql, "_lexeme_stats", lambda: None)
    unlisted = walked(with_counts=False)
    monkeypatch.setattr(postgresql, "_lexeme_stats", lambda: ({"plover": 0.5}, 0.1))
    listed = walked(with_counts=False)
    assert unlisted[0] == 2 and listed[0] == 1
    assert listed[1] == unlisted[1] and len(listed[1]) == 4
    assert walked(with_counts=True)[0] > 1  # a counting search keeps WALK_DOCS


def test_a_gin_window_is_anded_with_the_brin_index_only_where_that_pays(world, monkeypatch):
    """The BRIN bitmap of a window's id range costs in proportion to the window; without it
    every match in the index is read from its page. A rare word's first window (a tenth of
    the index) is worth it; its last, the rest of the index, is not."""
    span = 1_800_000
    monkeypatch.setattr(postgresql, "_lexeme_stats", lambda: ({"budget": 0.2}, 0.001))
    rare = _query()  # "plover" is not listed: rarer than 0.1% of the documents
    assert postgresql._brin_pays(rare, 0.0006, 112_000, span)
    assert not postgresql._brin_pays(rare, 0.00006, span - 50_000, span)
    # A listed word in 1% of the documents: a window of a tenth of the index still pays.
    monkeypatch.setattr(postgresql, "_lexeme_stats", lambda: ({"plover": 0.01}, 0.001))
    assert postgresql._brin_pays(_query(), 0.006, 220_000, span)


@pytest.mark.parametrize("ranged", [True, False])
def test_a_gin_window_without_its_brin_range_reads_the_same_rows(plovers, ranged):
    """The bounds, written so that no index serves them, still bound the window; and no
    index scan of the plan then serves them (on this small table the planner takes the
    primary key for the range, on the benchmark's the BRIN index)."""
    query = _query()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM search_searchdocument WHERE vector @@ to_tsquery('english', 'plover')"
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    lo, hi = ids[3], ids[-3]
    with CaptureQueriesContext(connection) as captured:
        rows, _complete = postgresql._indexed(query, lo, hi, 100, ranged=ranged)
    assert [row[0] for row in rows] == sorted((i for i in ids if lo <= i < hi), reverse=True)
    sql = captured.captured_queries[-1]["sql"]
    statement = next(part for part in sql.split("; ") if part.startswith("SELECT"))
    with connection.cursor() as cursor:
        cursor.execute("SET enable_indexscan = off; SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN {statement}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_indexscan; RESET enable_seqscan")
    assert ("Index Cond: ((id >= " in plan) == ranged, plan
