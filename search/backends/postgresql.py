"""PostgreSQL full-text queries for the database backend: newest first, whatever the word.

A full-text match can be found two ways, and each is fast only half of the time:

- the GIN index lists every matching document, but reading each one from the table costs a
  random page read (~10 µs), so a word in 10% of 2 million documents costs seconds;
- walking the primary key backwards (ids are in time order) and testing each document with
  `ts_match_vq(vector, q)` costs ~0.5 µs a document, so a frequent word fills a page within a
  few hundred documents, but a rare one walks the whole table.

PostgreSQL's planner picks between them from estimates, and every word it has no statistics
for looks like 0.1% of the documents: a rare word then walks 200,000 rows (the 300 ms tail
seen in the pilot). So the plan is never left to it. `_gather` works through the table from
the newest documents in id windows, measuring as it goes:

1. walk the newest WALK_DOCS documents (bounded cost); a frequent word is done here. A word
   missing from ANALYZE's most common lexemes of the vector column (so rarer than the
   rarest listed) skips this walk, which would find few of its hits: its first window is
   sized from that bound (`_density_bound`);
2. otherwise the matches seen so far give the density of what this viewer may see, which
   sizes the next window to hold about the missing number of hits (×1.5), and the cheaper
   way for that window is chosen by a cost model: a walk, or the GIN index intersected with
   a BRIN index on id (a window costs only its own matches' page reads; not for a window
   that is most of the index, where the BRIN bitmap costs more than the reads it spares);
3. when the rest of the table is expected to hold few matches, one query reads them all.

Each window's way is priced by `_walk_is_cheaper`: a GIN bitmap scan reads the word's whole
posting list (all of the index, whatever the window or the filters), so a frequent word
with an agency, group or author filter is walked through that filter's (x, id) index.

No statement has an ORDER BY that an index could serve except the walks, which are bounded
by id ranges, so no plan can flip into an unbounded scan. A walk's shape leaves the planner
one plan (an id range read backwards through the primary key, or through an agency, group or
author (x, id) index; the words tested by `ts_match_vq`, which no index serves), so walks are
prepared and keep one generic plan per connection, without plan settings (planning one took
a quarter of its time). A walk with a hashtag filter (a join the planner could turn around)
is planned each time, with SET LOCAL plan settings, as the GIN windows are.

The permission check (the permission module's querysets, compiled to SQL, wrapped in
`IS TRUE` so that PostgreSQL keeps it a per-row sub-plan instead of a join over every post)
runs only on matching rows.

Relevance (`ts_rank_cd`, weights title > tags > body > context) ranks the newest
RELEVANCE_CANDIDATES visible matches: all of them for a rare word, a recent window for a
frequent one. Counts are the same gathering with COUNT_CAP. `ts_headline` runs on the page's
rows only: when a newest-first search gathers no more than its page (no counts), a walk
returns its rows' headlines itself (PostgreSQL computes the select list only for the rows its
LIMIT lets through), and the selector's permission re-check of those rows too
(`search.recheck.Folded`: one statement for the page instead of two); otherwise, and for rows
found through the GIN index, one statement makes the headlines after the gathering. A body
over HEADLINE_PREFIX bytes searched for one word gets its headline from its first part when
the word lies there (`body_headline`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection

from feeds.compiled import statement_cursor

from .. import conf
from ..models import SearchDocument
from ..recheck import Folded
from .base import COUNT_CAP, SORT_NEWEST, SearchPage, SearchRequest
from .database import (
    _LRU,
    RELEVANCE_CANDIDATES,
    START,
    STOP,
    TABLE,
    filter_sql,
    hit,
    kinds_sql,
)

Kind = SearchDocument.Kind

WALK_DOCS = 3000
RARE_MATCHES = 400  # one GIN query for the rest when it should hold at most this many matches
SAFETY = 1.5  # windows are sized for this many times the hits still missing
VISIBLE_SHARE = 0.6  # assumed share of matches a viewer may see, to price a GIN window
FILTER_SHARE = 0.05  # assumed share of documents an agency, group or author filter keeps
# Cost model (µs), measured on the benchmark machine (docs/BENCHMARKS.md).
WALK_US = 0.5  # test one document during a walk
FILTERED_WALK_US = 1.6  # the same, walking an agency, group or author (x, id) index
PAGE_US = 12.0  # read one matching document found through the GIN index
POSTING_US = 0.2  # one entry of the word's GIN posting list
BRIN_US = 0.004  # one document of a GIN window's id range, in its bitmap from the BRIN index

HEADLINE = (
    f"StartSel={START}, StopSel={STOP}, MaxWords=35, MinWords=12, MaxFragments=2, "
    'FragmentDelimiter=" … "'
)
TITLE_HEADLINE = f"StartSel={START}, StopSel={STOP}, HighlightAll=true"
# ts_headline parses all the text it is given: about 80 µs per thousand characters, so twenty
# posts of 5,000 characters cost a page 8 ms of snippets. A longer body's snippet is made from
# its first HEADLINE_PREFIX characters (cut where a word ends, so that no cut word can match)
# when the word searched for lies there (`body_headline`).
HEADLINE_PREFIX = 1000
TSQUERY = "websearch_to_tsquery(%s::regconfig, %s)"
# The same, made once per statement (an InitPlan): in a prepared statement's generic plan the
# call above is not folded into a constant, and a walk would parse the query for every row.
TSQUERY_ONCE = f"(SELECT {TSQUERY})"
RANK = f"ts_rank_cd({TABLE}.vector, {TSQUERY_ONCE}, 32)"


@dataclass
class _Query:
    """One search's SQL pieces: the match, the filters + permission, the rank."""

    words: list  # [language, websearch text]
    filters: str  # the kinds and the filters
    filter_params: list
    allowed: str  # the permission, as a boolean expression (a sub-plan per row)
    allowed_params: list
    rank: bool = False
    indexed_filter: bool = False  # agency, group or author: walks use that (x, id) index
    joined_filter: bool = False  # a hashtag: a join, which the planner could turn around
    low_id: int | None = None  # date filters, as id bounds
    high_id: int | None = None
    # Every row gathered is on the page (newest first, no counts): walks return headlines,
    # and with `folded` re-check their rows in the same statement (search.recheck).
    headlines: bool = False
    folded: Folded | None = None
    # A walk's window takes the filters without the kinds, which it tests only on the
    # documents that match the words (`_walk`); None: `filters` in the window.
    window_filters: tuple[str, list] | None = None
    kinds: tuple[str, list] | None = None

    def select(self, *, headlines: bool = False) -> tuple[str, list]:
        """The columns of a gathered row: id, kind, object_id, rank; with `headlines`
        (a scan that reads the title and body), the title's and the body's headlines too."""
        sql = f"{TABLE}.id, {TABLE}.kind, {TABLE}.object_id"
        params: list = []
        if self.rank:
            sql += f", {RANK}"
            params += self.words
        else:
            sql += ", NULL::real"
        if headlines:
            language = self.words[0]
            body, body_params = body_headline(TABLE, TSQUERY_ONCE, self.words)
            sql += (
                f", CASE WHEN {TABLE}.title <> '' THEN ts_headline(%s::regconfig, {TABLE}.title, "
                f"{TSQUERY_ONCE}, %s) ELSE '' END, {body}"
            )
            params += [language, *self.words, TITLE_HEADLINE, *body_params]
        return sql, params


@dataclass
class _Gathered:
    rows: list = field(default_factory=list)  # (id, kind, object_id, rank), newest first
    complete: bool = False  # every match was looked at


def _execute(sql: str, params: list, *, plan: dict[str, str] | None = None) -> list:
    """Run one statement; `plan` names the only scan types its planner may use.

    The settings are SET LOCAL inside the search's transaction and put back right after the
    statement. With Django's default client-side binding the three go in one round trip.
    """
    with connection.cursor() as cursor:
        if not plan:
            cursor.execute(sql, params)
            return cursor.fetchall()
        before = "; ".join(f"SET LOCAL {k} = {v}" for k, v in plan.items())
        after = "; ".join(f"SET LOCAL {k} TO DEFAULT" for k in plan)
        if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
            cursor.execute(before)
            try:
                cursor.execute(sql, params)
                return cursor.fetchall()
            finally:
                cursor.execute(after)
        cursor.execute(f"{before}; {sql}; {after}", params)
        for _setting in plan:
            cursor.nextset()
        return cursor.fetchall()


def _execute_prepared(sql: str, params: list) -> list:
    """Run one statement on a server-binding cursor: psycopg prepares it once it has run a
    few times on a connection, and PostgreSQL then keeps one generic plan for it (the
    connection's `plan_cache_mode`, see the settings) instead of planning it on each call.
    Only for statements whose shape leaves the planner one sensible plan whatever the
    values (no plan settings: SET LOCAL would need a transaction block of its own)."""
    with statement_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# What the outer query of a GIN search needs of each match (the permission reads the ids).
CANDIDATE_COLUMNS = "id, kind, object_id, post_id, author_id, group_id"
# A walk is a backward scan of an index on id (the primary key, or a filter's (x, id)): its
# shape gives that plan; only a walk with a hashtag filter (a join) is held to it by settings.
WALK_PLAN = {"enable_bitmapscan": "off", "enable_seqscan": "off", "enable_sort": "off"}
# A window goes through bitmaps (GIN, BRIN on id), never a plain index scan that tests rows.
WINDOW_PLAN = {"enable_indexscan": "off", "enable_seqscan": "off"}


_NO_CAP = 2**63 - 1  # a LIMIT that keeps the walk's subquery a fence, and stops nothing


def _walk(query: _Query, lo: int, hi: int | None, want: int) -> list:
    """Newest matches the viewer may see with lo <= id < hi, testing each document in turn.

    The inner query walks the window (and the filters) in id order with a LIMIT, so nothing
    outside can be pushed into it: the plan is a backward scan of an index on id (the primary
    key, or an agency, group or author (x, id) index when that filter is given) that stops as
    soon as `want` rows have passed the words and the permission (and only those rows get
    the select list, headlines included). Prepared, but for a hashtag filter (module doc).
    """
    select, select_params = query.select(headlines=query.headlines)
    upper = " AND id < %s" if hi is not None else ""
    filters, filter_params = query.window_filters or (query.filters, query.filter_params)
    kinds, kinds_params = query.kinds or ("TRUE", [])
    window = f"SELECT * FROM {TABLE} WHERE id >= %s{upper} AND {filters} ORDER BY id DESC LIMIT %s"
    # The kinds are tested after the words: on the few documents that match, instead of on
    # every document walked (a tenth of a microsecond each, a sixth of a walk's time).
    sql = (
        f"SELECT {select} FROM ({window}) AS {TABLE} "
        f"WHERE ts_match_vq({TABLE}.vector, {TSQUERY_ONCE}) AND {kinds} "
        f"AND ({query.allowed}) IS TRUE ORDER BY id DESC LIMIT %s"
    )
    # Without an upper bound (a first page) the window reaches up to the newest document,
    # which may be far above the cached maximum the window was placed from: no cap then
    # (a cap of a few windows once skipped documents indexed in the seconds since).
    size = (hi - lo) if hi is not None else _NO_CAP
    params = [
        *select_params, lo, *([hi] if hi is not None else []), *filter_params,
        max(size, 1), *query.words, *kinds_params, *query.allowed_params, want,
    ]  # fmt: skip
    folded = query.folded if query.headlines else None
    if folded is not None:
        sql, params = folded.wrap(sql, params)
    if query.joined_filter:
        rows = _execute(sql, params, plan=WALK_PLAN)
    else:
        rows = _execute_prepared(sql, params)
    return folded.unwrap(rows) if folded is not None else rows


def _indexed(
    query: _Query, lo: int | None, hi: int | None, want: int, *, ranged: bool = True
) -> tuple[list, bool]:
    """The newest `want` visible matches with lo <= id < hi, found through the GIN index.

    The inner query has no LIMIT an index could serve and an OFFSET 0 fence, so it is a
    bitmap scan (GIN, ANDed with the BRIN index on id for a window when `ranged`; else the
    bounds are written so that no index serves them, and test the matches' rows) that sorts
    its matches; the permission is then asked of them newest first, only until `want` have
    passed. Returns the rows and whether every match in the range was looked at.
    """
    select, select_params = query.select()
    column = "id" if ranged else "(id + 0)"
    bounds, bound_params = "", []
    if lo is not None:
        bounds, bound_params = bounds + f" AND {column} >= %s", [*bound_params, lo]
    if hi is not None:
        bounds, bound_params = bounds + f" AND {column} < %s", [*bound_params, hi]
    columns = CANDIDATE_COLUMNS + (", vector" if query.rank else "")
    inner = (
        f"SELECT {columns} FROM {TABLE} "
        f"WHERE {TABLE}.vector @@ {TSQUERY}{bounds} AND {query.filters} "
        f"ORDER BY id DESC OFFSET 0"
    )
    sql = (
        f"SELECT {select} FROM ({inner}) AS {TABLE} "
        f"WHERE ({query.allowed}) IS TRUE ORDER BY id DESC LIMIT %s"
    )
    rows = _execute(
        sql,
        [
            *select_params, *query.words, *bound_params, *query.filter_params,
            *query.allowed_params, want + 1,
        ],
        plan=WINDOW_PLAN,
    )  # fmt: skip
    return rows[:want], len(rows) <= want


_RANGE_TTL = 5.0
_range_cache: dict[str, tuple[float, tuple[int, int] | None]] = {}


def _id_range() -> tuple[int, int] | None:
    """(min id, max id), remembered for a few seconds.

    A stale value is harmless: the first window has no upper bound (documents indexed since
    are walked too), and a stale minimum only makes the last GIN query cover what it would.
    """
    key = connection.settings_dict["NAME"]
    now = time.monotonic()
    cached = _range_cache.get(key)
    if cached and now - cached[0] < _RANGE_TTL:
        return cached[1]
    row = _execute(f"SELECT min(id), max(id) FROM {TABLE}", [])[0]
    value = None if row[0] is None else (row[0], row[1])
    if value is not None:  # an empty index is asked again: it may be being filled
        _range_cache[key] = (now, value)
    return value


def forget_cached_statistics() -> None:
    """After a rebuild (new ids, new statistics): read the id range and the lexeme
    statistics afresh. (Other processes keep theirs for at most _RANGE_TTL / _STATS_TTL.)"""
    _range_cache.clear()
    _stats_cache.clear()


_STATS_TTL = 600.0
_stats_cache: dict[str, tuple[float, tuple[dict[str, float], float] | None]] = {}
_lexemes_cache = _LRU(4096)
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _lexeme_stats() -> tuple[dict[str, float], float] | None:
    """(lexeme -> share of documents, smallest share listed), from the statistics ANALYZE
    keeps for the vector column (its ~1,000 most common lexemes); remembered for minutes.
    A lexeme not listed is in fewer documents than the smallest share listed."""
    key = connection.settings_dict["NAME"]
    now = time.monotonic()
    cached = _stats_cache.get(key)
    if cached and now - cached[0] < _STATS_TTL:
        return cached[1]
    rows = _execute(
        "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
        "WHERE schemaname = current_schema() AND tablename = %s AND attname = 'vector'",
        [TABLE],
    )
    value = None
    if rows and rows[0][0] and rows[0][1]:
        elems, freqs = rows[0]
        shares = dict(zip(elems, freqs[: len(elems)], strict=True))
        value = (shares, min(shares.values()))
    _stats_cache[key] = (now, value)
    return value


def _lexemes(words: list) -> list[str] | None:
    """The lexemes every match must contain (the query as PostgreSQL parses it), or None
    when the query has OR or NOT (no single lexeme bounds it). Remembered per query text."""
    key = (connection.settings_dict["NAME"], *words)
    cached = _lexemes_cache.lookup(key)
    if cached is None:
        text = _execute(f"SELECT {TSQUERY}::text", list(words))[0][0] or ""
        found = [m.replace("''", "'") for m in _QUOTED.findall(text)]
        bare = _QUOTED.sub("", text)
        cached = _lexemes_cache.store(key, (found if found and not set("|!") & set(bare) else ()))
    return list(cached) or None


def _density_bound(query: _Query) -> float | None:
    """For words too rare to be in the statistics: at most how many visible matches per
    document they can have (the smallest share listed, times VISIBLE_SHARE). None otherwise
    (a listed word is walked first, as is a search with an agency, group or author filter)."""
    if query.indexed_filter:
        return None
    lexemes = _lexemes(query.words)
    stats = _lexeme_stats() if lexemes else None
    if not stats:
        return None
    shares, smallest = stats
    if all(lexeme in shares for lexeme in lexemes):
        return None
    return smallest * VISIBLE_SHARE


def _gather(query: _Query, *, before: int | None, want: int) -> _Gathered:
    """The newest `want` matches the viewer may see, below id `before` (see module doc)."""
    span = _id_range()
    if span is None:
        return _Gathered(complete=True)
    low, high = span
    if query.low_id is not None:
        low = max(low, query.low_id)
    # The cached maximum only places the first window; a cursor or a date bound is exact.
    bounds = [b - 1 for b in (before, query.high_id) if b is not None]
    top = min(bounds) if bounds else high
    if top < low:
        return _Gathered(complete=True)
    # No upper bound on a first page: what was indexed since the range was read is in.
    first_page = before is None and query.high_id is None
    hi = None if first_page else top + 1
    out = _Gathered()
    bound = _density_bound(query)
    seen_docs = seen_visible = window = 0
    if bound is None or bound * WALK_DOCS * 4 >= want:
        # A word that may be frequent: walk the newest documents first.
        first = _first_walk(query, want)
        lo = max(top - first + 1, low)
        out.rows += _walk(query, lo, hi, want)
        if len(out.rows) >= want or lo <= low:
            out.complete = len(out.rows) < want
            return out
        seen_docs, seen_visible = top + 1 - lo, len(out.rows)
        hi, window = lo, first
    # else: by the statistics, a walk of WALK_DOCS documents would find under a quarter of
    # the page: the first window is sized by that bound and read through the GIN index.
    upper = top + 1 if hi is None else hi  # where the next window ends (hi None: no bound)
    span_docs = max(high - span[0], 1)  # the whole index: what a GIN posting list covers
    while len(out.rows) < want:
        missing = want - len(out.rows)
        if seen_docs:
            density = max(seen_visible, 0.5) / seen_docs  # visible matches per document
        else:
            density = max(bound, 1e-9)
        remaining = upper - low
        window = max(int(SAFETY * missing / density), window * 2)
        # The rest at once when it should hold few matches (or the window would reach it).
        rest = density * remaining <= RARE_MATCHES or window >= remaining
        window = remaining if rest else window
        lo = upper - window
        if _walk_is_cheaper(query, density, window, span_docs) and hi is not None:
            found = _walk(query, lo, hi, missing)  # (a walk needs its upper bound)
        else:
            ranged = _brin_pays(query, density, window, span_docs)
            found, _all = _indexed(query, lo, hi, missing, ranged=ranged)
        out.rows += found
        if rest:
            out.complete = True
            return out
        seen_visible += len(found)
        seen_docs += window
        hi = upper = lo
    return out


def _first_walk(query: _Query, want: int) -> int:
    """How many of the newest documents the first walk may test: WALK_DOCS, or, for a page
    alone (no counts) of a word the statistics list, enough to hold the page by its share
    (SAFETY times over), up to twice WALK_DOCS: the window a second walk would have had, in
    one statement instead of two. A walk stops at `want` rows, so a frequent word tests no
    more documents than before. Counting searches keep WALK_DOCS: their next windows are
    priced against the GIN index."""
    if not query.headlines or query.indexed_filter:
        return WALK_DOCS
    lexemes = _lexemes(query.words)
    stats = _lexeme_stats() if lexemes else None
    if not stats or not all(lexeme in stats[0] for lexeme in lexemes):
        return WALK_DOCS
    density = min(stats[0][lexeme] for lexeme in lexemes) * VISIBLE_SHARE
    return int(min(max(WALK_DOCS, SAFETY * want / max(density, 1e-9)), 2 * WALK_DOCS))


def _walk_is_cheaper(query: _Query, density: float, window: int, span_docs: int) -> bool:
    """Whether walking a window of `window` documents costs less than reading it through the
    GIN index.

    A walk is priced for the whole window (it stops earlier only if the density seen so far
    holds, which a handful of hits cannot promise). With an agency, group or author filter it
    walks that filter's (x, id) index: only that filter's documents, each a row read from its
    own page. A GIN window reads the word's whole posting list (all of the index, not just
    the window, and before any filter: a word in 10% of the documents is 150,000 entries,
    26 ms), and then each match's page.
    """
    if query.indexed_filter:
        walk_cost = window * FILTER_SHARE * FILTERED_WALK_US
    else:
        walk_cost = window * WALK_US
    gin_cost = _share(query, density) * span_docs * POSTING_US + density * window * 2 * PAGE_US
    return walk_cost <= gin_cost


def _brin_pays(query: _Query, density: float, window: int, span_docs: int) -> bool:
    """Whether a GIN window's id range is read from the BRIN index on id and ANDed with the
    word's posting list. That bitmap costs in proportion to the window; without it, the page
    of each match in the whole index is read and the range then drops those outside the
    window. For a rare word's last window (the rest of the index: nearly all of it) the
    BRIN bitmap cost 5.3 ms and spared a dozen page reads."""
    outside = _share(query, density) * max(span_docs - window, 0)
    return window * BRIN_US < outside * PAGE_US


def _share(query: _Query, density: float) -> float:
    """The share of all documents the query's rarest word is in: as the statistics list it,
    or from what was seen (`density`: visible matches among the filtered documents), at
    most the statistics' bound."""
    seen = density / VISIBLE_SHARE / (FILTER_SHARE if query.indexed_filter else 1.0)
    listed, bound = _word_share(query)
    return listed if listed is not None else min(seen, bound) if bound is not None else seen


def _word_share(query: _Query) -> tuple[float | None, float | None]:
    """(share, bound): the share of the documents the query's rarest word is in, as the
    statistics list it; or, for a word not listed, the smallest share listed (it is rarer
    than that). (None, None) without statistics, or for a query with OR or NOT."""
    lexemes = _lexemes(query.words)
    stats = _lexeme_stats() if lexemes else None
    if not stats:
        return None, None
    shares, smallest = stats
    if all(lexeme in shares for lexeme in lexemes):
        return min(shares[lexeme] for lexeme in lexemes), None
    return None, smallest


def _id_at(moment) -> int | None:
    """The id of the first document created at or after `moment` (ids follow time)."""
    rows = _execute(
        f"SELECT id FROM {TABLE} WHERE created >= %s ORDER BY created LIMIT 1", [moment]
    )
    return rows[0][0] if rows else None


def _id_bounds(request: SearchRequest) -> tuple[int | None, int | None]:
    """Date filters as id bounds (with a margin: ids follow time only roughly), so that a
    search of the last 90 days never reads the years before. The SQL filter on `created`
    still decides; the bounds only keep the scans short."""
    from .database import day_start

    low = high = None
    if request.date_from:
        found = _id_at(day_start(request.date_from))
        low = found - WALK_DOCS if found is not None else None
        if found is None:
            return 0, 0  # nothing that recent
    if request.date_to:
        found = _id_at(day_start(request.date_to + timedelta(days=1)))
        high = found + WALK_DOCS if found is not None else None
    return low, high


def body_headline(table: str, tsquery: str, tsquery_params: list) -> tuple[str, list]:
    """The SQL of the snippet of the body of `table`'s row for `tsquery` (SQL and parameters).

    `ts_headline` of the whole body, but for a body over HEADLINE_PREFIX bytes searched for
    one word: of its first part (its first HEADLINE_PREFIX characters less the word cut at
    their end) when the word lies there, or when the body does not hold it (the post was
    found by its author, group or hashtags: the body's first words, as from the whole body);
    else of the rest, where every occurrence then lies. Whether the body holds the word is
    read from the document's vector (its weight-C lexemes), not parsed. Several words keep
    the whole body: a fragment holding them all may lie past the first part."""
    language = conf.language()
    headline_params = [language, *tsquery_params, HEADLINE]
    body = f"{table}.body"

    def headline(text: str) -> str:
        return f"ts_headline(%s::regconfig, {text}, {tsquery}, %s)"

    # The first HEADLINE_PREFIX + 1 characters tell whether a word is cut at the end of the
    # first HEADLINE_PREFIX (octet_length() reads the value's header, but may count a body
    # of fewer characters as long). OFFSET 0: each part's headline is made once.
    cut = (
        f"SELECT CASE WHEN length(raw.x) > {HEADLINE_PREFIX} "
        "THEN regexp_replace(raw.x, '\\S*$', '') ELSE raw.x END AS p "
        f"FROM (SELECT left({body}, {HEADLINE_PREFIX + 1}) AS x) AS raw OFFSET 0"
    )
    rest = f"substr({body}, length(first_part.p) + 1)"
    sql = (
        f"CASE WHEN octet_length({body}) <= {HEADLINE_PREFIX} OR numnode({tsquery}) <> 1 "
        f"THEN {headline(body)} "
        "ELSE (SELECT CASE WHEN strpos(first_part.h, %s) > 0 "
        f"OR NOT ts_filter({table}.vector, '{{c}}') @@ {tsquery} THEN first_part.h "
        f"ELSE {headline(rest)} END "
        f"FROM (SELECT cut.p, {headline('cut.p')} AS h FROM ({cut}) AS cut OFFSET 0) "
        "AS first_part) END"
    )
    params = [*tsquery_params, *headline_params, START, *tsquery_params, *headline_params]
    return sql, [*params, *headline_params]


def _headlines(ids: list[int], query_text: str) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    language = conf.language()
    marks = ", ".join(["%s"] * len(ids))
    body, body_params = body_headline("d", "q.q", [])
    sql = (
        f"SELECT d.id, "
        f"CASE WHEN d.title <> '' THEN ts_headline(%s::regconfig, d.title, q.q, %s) ELSE '' END, "
        f"{body} FROM {TABLE} d, (SELECT {TSQUERY} AS q) q WHERE d.id IN ({marks})"
    )
    params = [language, TITLE_HEADLINE, *body_params, language, query_text, *ids]
    return {row[0]: (row[1] or "", row[2] or "") for row in _execute(sql, params)}


def _plain(ids: list[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))
    sql = f"SELECT id, '', left(body, 300) FROM {TABLE} WHERE id IN ({marks})"
    return {row[0]: (row[1], row[2]) for row in _execute(sql, ids)}


def _browse(
    filters: str, params: list, allowed: str, allowed_params: list, before, want: int
) -> list:
    """No words: the newest documents that pass the filters and the permission."""
    upper = " AND id < %s" if before is not None else ""
    sql = (
        f"SELECT id, kind, object_id, NULL::real FROM {TABLE} WHERE {filters}{upper} "
        f"AND ({allowed}) IS TRUE ORDER BY id DESC LIMIT %s"
    )
    extra = [before] if before is not None else []
    return _execute(sql, [*params, *extra, *allowed_params, want])


def _directory(query: _Query, kinds, request: SearchRequest, want: int, relevance: bool) -> list:
    """People and groups: few documents, searched through their own small GIN index."""
    marks = ", ".join(["%s"] * len(kinds))
    select, select_params = query.select()
    order = "4 DESC, 1 DESC" if relevance else "1 DESC"
    upper, upper_params = "", []
    if request.after is not None and not relevance:
        upper, upper_params = " AND id < %s", [request.after]
    sql = (
        f"SELECT {select} FROM {TABLE} WHERE kind IN ('person', 'group') AND kind IN ({marks}) "
        f"AND {TABLE}.vector @@ {TSQUERY} AND {query.filters}{upper} "
        f"AND ({query.allowed}) IS TRUE ORDER BY {order} LIMIT %s OFFSET %s"
    )
    params = [*select_params, *kinds, *query.words, *query.filter_params, *upper_params]
    offset = request.offset if relevance else 0
    return _execute(sql, [*params, *query.allowed_params, want, offset])


def _prepare_session() -> None:
    """JIT and parallel workers off for this connection: JIT costs ~40 ms to compile plans
    that run in 1 ms (the permission sub-plans make cost estimates look large), and starting
    workers costs more than the short scans they would share."""
    raw = connection.connection
    if raw is not None and getattr(raw, "_agora_search_session", False):
        return
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off; SET max_parallel_workers_per_gather = 0")
    try:
        raw = connection.connection
        raw._agora_search_session = True
    except AttributeError:  # pragma: no cover - a driver whose connections take no attributes
        pass


def search_postgresql(request: SearchRequest, parts, viewer) -> SearchPage:
    """One search. Each planned statement sets its plan with SET LOCAL in the same string
    (an implicit transaction); only server-side binding needs an explicit one."""
    from django.db import transaction

    _prepare_session()
    if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        with transaction.atomic():
            return _search(request, parts, viewer)
    return _search(request, parts, viewer)


def _search(request: SearchRequest, parts, viewer) -> SearchPage:
    filters, filter_params, allowed, allowed_params = parts
    limit = request.limit
    relevance = request.sort != SORT_NEWEST and not request.query.match_all
    kinds = list(request.document_kinds)
    counting = request.with_counts
    if request.query.match_all:
        rows = _browse(filters, filter_params, allowed, allowed_params, request.after, limit + 1)
        counts_rows = rows
        if counting and len(rows) > limit:
            counts_rows = _browse(filters, filter_params, allowed, allowed_params, None, COUNT_CAP)
        return _page(rows, limit, None, _counts(counts_rows) if counting else {})
    low_id, high_id = _id_bounds(request) if request.date_from or request.date_to else (None, None)
    query = _Query(
        words=[conf.language(), request.query.websearch()],
        filters=filters,
        filter_params=filter_params,
        allowed=allowed,
        allowed_params=allowed_params,
        indexed_filter=any(
            v is not None for v in (request.agency_id, request.group_id, request.author_id)
        ),
        joined_filter=bool(request.hashtag),
        low_id=low_id,
        high_id=high_id,
        window_filters=filter_sql(request, kinds=False),
        kinds=kinds_sql(request),
    )
    if set(kinds) <= {Kind.PERSON, Kind.GROUP}:
        query.rank = relevance
        rows = _directory(query, kinds, request, limit + 1, relevance)
        counted = rows
        if counting and (len(rows) > limit or request.offset):
            query.rank = False
            counted = _directory(query, kinds, replace_first_page(request), COUNT_CAP, False)
        return _page(rows, limit, request.query.websearch(), _counts(counted) if counting else {})
    if relevance:
        query.rank = True  # ranks computed by the scans that find the candidates
        gathered = _gather(query, before=None, want=RELEVANCE_CANDIDATES)
        ranked = sorted(gathered.rows, key=lambda r: (-(r[3] or 0.0), -r[0]))
        rows = ranked[request.offset : request.offset + limit + 1]
        counted = gathered.rows
    else:
        want = max(limit + 1, COUNT_CAP) if counting else limit + 1
        query.headlines = not counting  # every row gathered is then on the page
        query.folded = Folded.for_viewer(viewer) if query.headlines else None
        gathered = _gather(query, before=request.after, want=want)
        rows = gathered.rows[: limit + 1]
        counted = gathered.rows
    page = _page(rows, limit, request.query.websearch(), _counts(counted) if counting else {})
    if query.folded is not None:
        page.checked = query.folded.checked
    return page


def replace_first_page(request: SearchRequest) -> SearchRequest:
    from dataclasses import replace

    return replace(request, after=None, offset=0)


def _counts(rows: list) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows[:COUNT_CAP]:
        counts[row[1]] = counts.get(row[1], 0) + 1
    return counts


def _page(rows, limit: int, query_text: str | None, counts: dict[str, int]) -> SearchPage:
    """The page's hits with their snippets: the headlines a walk returned with its rows
    (id, kind, object_id, rank, title, body), made here for the others."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    ids = [r[0] for r in rows if len(r) == 4]
    snippets = (_headlines(ids, query_text) if query_text else _plain(ids)) if ids else {}
    hits = []
    for row in rows:
        title, body = row[4:6] if len(row) == 6 else snippets.get(row[0], ("", ""))
        hits.append(hit(row[1], row[2], row[0], snippet=body, title=title, score=row[3]))
    return SearchPage(hits=hits, has_more=has_more, counts=counts)
