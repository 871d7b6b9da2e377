"""SQLite FTS5 queries for the database backend (the embedded default).

`search_fts` is an external-content FTS5 table over search_searchdocument (rowid = document
id), kept in step by triggers (migration 0002). FTS5 reads its doclists in rowid order and
honours `ORDER BY rowid DESC LIMIT n` by stopping early, so "newest first" costs about the
same for a rare word as for a common one; each candidate row then meets the filters and the
permission sub-queries. Relevance is FTS5's `bm25()` with column weights, over the newest
RELEVANCE_CANDIDATES matches when a match is frequent.

A date filter's start is also given as an id bound (`first_id_since`): the filter on
`created` alone cannot stop a newest-first scan, which then reads every older candidate row
to find that none is recent enough (bench/search.py, words in 0.1% of documents with the
viewer's agency and the last 90 days: 3.6-4.3 ms p50 before, 0.6 ms with the bound).
"""

from __future__ import annotations

import time

from django.db import connection

from .. import conf
from ..models import SearchDocument
from .base import COUNT_CAP, SORT_NEWEST, SearchPage, SearchRequest
from .database import FTS_TABLE, RELEVANCE_CANDIDATES, START, STOP, TABLE, day_start, hit

Kind = SearchDocument.Kind
# bm25 weights per FTS column: kind (never matched by words), title, tags, body, context, and
# the filter columns (never matched by words either).
BM25 = "bm25(search_fts, 0.0, 10.0, 4.0, 1.0, 0.5, 0.0, 0.0, 0.0)"
SNIPPET_TOKENS = 24

# The filter columns hold a document's agency, group and author id as one token each (FTS5
# reads them from the documents table by name). A search with words and such a filter asks
# FTS5 for both, and FTS5 merges the two doclists newest first: candidates of the agency only,
# instead of every match of the words, each read to find its agency. The SQL filter on the
# same column still decides; the token only narrows what is read.
FILTER_COLUMNS = ("agency_id", "group_id", "author_id")
FTS_COLUMNS = "kind, title, tags, body, context, " + ", ".join(FILTER_COLUMNS)


def fts_schema_sql(tokenizer: str) -> list[str]:
    """The FTS5 table and its triggers (as migration 0003 creates them)."""
    new = ", ".join(f"new.{c}" for c in ("id", *FTS_COLUMNS.split(", ")))
    old = ", ".join(f"old.{c}" for c in ("id", *FTS_COLUMNS.split(", ")))
    return [
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({FTS_COLUMNS}, "
        f"content='{TABLE}', content_rowid='id', tokenize='{tokenizer}')",
        f"CREATE TRIGGER search_fts_insert AFTER INSERT ON {TABLE} BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, {FTS_COLUMNS}) VALUES ({new}); END",
        f"CREATE TRIGGER search_fts_delete AFTER DELETE ON {TABLE} BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {FTS_COLUMNS}) VALUES ('delete', {old}); END",
        f"CREATE TRIGGER search_fts_update AFTER UPDATE OF {FTS_COLUMNS} "
        f"ON {TABLE} BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {FTS_COLUMNS}) VALUES ('delete', {old}); "
        f"INSERT INTO {FTS_TABLE}(rowid, {FTS_COLUMNS}) VALUES ({new}); END",
    ]


def empty_index() -> None:
    """Empty the documents for a rebuild: the FTS table is dropped and made again empty (with
    the current tokenizer), so 2 million rows are not deleted from it one trigger at a time."""
    with connection.cursor() as cursor:
        for trigger in ("search_fts_insert", "search_fts_delete", "search_fts_update"):
            cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        cursor.execute(f"DELETE FROM {TABLE}")
        for statement in fts_schema_sql(conf.sqlite_tokenizer()):
            cursor.execute(statement)


USER_COLUMNS = "{title tags body context}"
DIRECTORY = {Kind.PERSON, Kind.GROUP}


def match_expression(request: SearchRequest) -> str | None:
    """The MATCH text: user words in the text columns; people and groups by `kind` too; with
    words, the agency, group and author filters as their columns' tokens."""
    kinds = set(request.document_kinds)
    words = None if request.query.match_all else f"{USER_COLUMNS} : ({request.query.fts5()})"
    if words:
        for column in FILTER_COLUMNS:
            value = getattr(request, column)
            if value is not None:
                words += f' AND {column} : "{int(value)}"'
    if kinds <= DIRECTORY:
        family = "kind : (" + " OR ".join(f'"{k}"' for k in sorted(kinds)) + ")"
        return f"{family} AND {words}" if words else family
    return words


def _snippet_columns() -> tuple[str, list]:
    """highlight() and snippet() for the SELECT of a query that drives the FTS table."""
    sql = (
        f"highlight({FTS_TABLE}, 1, %s, %s), snippet({FTS_TABLE}, 3, %s, %s, '…', {SNIPPET_TOKENS})"
    )
    return sql, [START, STOP, START, STOP]


def _snippets(ids: list[int], match: str | None, words: bool) -> dict[int, tuple[str, str]]:
    """(title, body) with matches marked, for a page found without them (relevance, browse).

    One lookup per id: FTS5 answers `MATCH ... AND rowid = ?` from the one document, where
    `rowid IN (...)` would make it read every match.
    """
    if not ids:
        return {}
    if match is None or not words:
        marks = ", ".join(["%s"] * len(ids))
        sql = f"SELECT id, '', substr(body, 1, 300) FROM {TABLE} WHERE id IN ({marks})"
        with connection.cursor() as cursor:
            cursor.execute(sql, ids)
            return {row[0]: (row[1] or "", row[2] or "") for row in cursor.fetchall()}
    columns, column_params = _snippet_columns()
    sql = f"SELECT {columns} FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid = %s"
    out = {}
    with connection.cursor() as cursor:
        for document_id in ids:
            cursor.execute(sql, [*column_params, match, document_id])
            row = cursor.fetchone()
            if row:
                out[document_id] = (row[0] or "", row[1] or "")
    return out


def _source(match: str | None) -> str:
    if match is None:
        return f"{TABLE}"
    return f"{FTS_TABLE} JOIN {TABLE} ON {TABLE}.id = {FTS_TABLE}.rowid"


def _counts(
    where: str, params: list, match: str | None, *, below: int | None = None, cap: int = 0
) -> dict[str, int]:
    """Permitted matches by kind, newest first (below document id `below`, if given),
    counting stops at `cap` (COUNT_CAP unless given)."""
    order = f"{FTS_TABLE}.rowid" if match else f"{TABLE}.id"
    condition = f"{FTS_TABLE} MATCH %s AND {where}" if match else where
    if below is not None:
        condition, params = f"{condition} AND {order} < %s", [*params, below]
    sql = (
        f"SELECT kind, count(*) FROM (SELECT {TABLE}.kind AS kind FROM {_source(match)} "
        f"WHERE {condition} ORDER BY {order} DESC LIMIT {cap or COUNT_CAP}) GROUP BY kind"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [match, *params] if match else params)
        return dict(cursor.fetchall())


def _first_page_counts(
    rows: list, where: str, params: list, match: str | None, *, complete: bool
) -> dict[str, int]:
    """The counts of a newest-first first page: the kinds of its rows (each already found
    permitted, newest first), then, unless they are all the matches (`complete`), those
    older than its last row, up to COUNT_CAP in all. The same as `_counts` from the top,
    without asking the permission of the page's rows a second time."""
    counts: dict[str, int] = {}
    for row in rows[:COUNT_CAP]:
        counts[row[1]] = counts.get(row[1], 0) + 1
    if not complete and rows and len(rows) < COUNT_CAP:
        older = _counts(where, params, match, below=rows[-1][0], cap=COUNT_CAP - len(rows))
        for kind, n in older.items():
            counts[kind] = counts.get(kind, 0) + n
    return counts


# How long a first id is remembered, and how many (one per database and day asked for).
SINCE_TTL = 600.0
SINCE_CACHE_SIZE = 64
_since_cache: dict[tuple[str, str], tuple[float, int]] = {}


def first_id_since(moment) -> int | None:
    """The lowest id of the documents created at or after `moment` (None: there are none).

    Every document with `created >= moment` has an id at least this, for as long as it is
    remembered: ids only grow (AUTOINCREMENT: a rebuild, an update or a new document never
    takes an id below an existing one) and a document's `created` does not change (it is its
    post's, comment's, person's or group's creation), so the bound only gets less tight. Read
    from the `created` index (13 ms for 90 days of the 1,000,000-post set), remembered for
    SINCE_TTL."""
    value = connection.ops.adapt_datetimefield_value(moment)
    key = (str(connection.settings_dict["NAME"]), value)
    now = time.monotonic()
    cached = _since_cache.get(key)
    if cached and now - cached[0] < SINCE_TTL:
        return cached[1]
    with connection.cursor() as cursor:
        # `+id`: min() over the `created` index, not a walk of every older id.
        cursor.execute(f"SELECT min(+id) FROM {TABLE} WHERE created >= %s", [value])
        first = cursor.fetchone()[0]
    if first is None:
        return None  # nothing yet: not remembered, a document may come at any moment
    if len(_since_cache) >= SINCE_CACHE_SIZE:
        _since_cache.clear()
    _since_cache[key] = (now, first)
    return first


def forget_first_ids() -> None:
    _since_cache.clear()


def _bounded(request: SearchRequest, where: str, params: list, column: str) -> tuple[str, list]:
    """`where` with the date filter's start also as a bound on `column` (the document id)."""
    if not request.date_from:
        return where, params
    first = first_id_since(day_start(request.date_from))
    if first is None:
        return where, params
    return f"{where} AND {column} >= %s", [*params, first]


def search_sqlite(request: SearchRequest, where: str, params: list) -> SearchPage:
    match = match_expression(request)
    where, params = _bounded(
        request, where, params, f"{FTS_TABLE}.rowid" if match else f"{TABLE}.id"
    )
    limit = request.limit
    order = f"{FTS_TABLE}.rowid" if match else f"{TABLE}.id"
    condition = f"{FTS_TABLE} MATCH %s AND {where}" if match else where
    head = [match] if match else []
    relevance = request.sort != SORT_NEWEST and not request.query.match_all
    if not relevance:
        after = ""
        after_params: list = []
        if request.after is not None:
            after, after_params = f" AND {order} < %s", [request.after]
        snippet_params: list = []
        if match and not request.query.match_all:
            columns, snippet_params = _snippet_columns()
            snippet_sql = f", {columns}"
        else:
            snippet_sql = ", '', substr(" + TABLE + ".body, 1, 300)"
        sql = (
            f"SELECT {TABLE}.id, {TABLE}.kind, {TABLE}.object_id, NULL{snippet_sql} "
            f"FROM {_source(match)} WHERE {condition}{after} ORDER BY {order} DESC LIMIT %s"
        )
        all_params = [*snippet_params, *head, *params, *after_params, limit + 1]
    else:
        # Relevance: bm25 over the newest candidates (all of them when the words are rare).
        sql = (
            f"SELECT c.id, c.kind, c.object_id, c.score FROM ("
            f"SELECT {TABLE}.id AS id, {TABLE}.kind AS kind, {TABLE}.object_id AS object_id, "
            f"{BM25} AS score FROM {_source(match)} WHERE {condition} "
            f"ORDER BY {order} DESC LIMIT {RELEVANCE_CANDIDATES}) AS c "
            f"ORDER BY c.score, c.id DESC LIMIT %s OFFSET %s"
        )
        all_params = [*head, *params, limit + 1, request.offset]
    with connection.cursor() as cursor:
        cursor.execute(sql, all_params)
        rows = cursor.fetchall()
    has_more = len(rows) > limit
    rows_fetched, rows = rows, rows[:limit]
    if relevance:
        snippets = _snippets([row[0] for row in rows], match, not request.query.match_all)
    else:
        snippets = {row[0]: (row[4] or "", row[5] or "") for row in rows}
    hits = []
    for row in rows:
        title, body = snippets.get(row[0], ("", ""))
        score = -row[3] if row[3] is not None else None
        hits.append(hit(row[1], row[2], row[0], snippet=body, title=title, score=score))
    counts: dict[str, int] = {}
    if request.with_counts and not relevance and request.after is None:
        # Every row fetched (the page, and the one that tells there is more); with no more,
        # they are all the matches and no count query runs.
        counts = _first_page_counts(rows_fetched, where, params, match, complete=not has_more)
    elif request.with_counts:
        counts = _counts(where, params, match)
    return SearchPage(hits=hits, has_more=has_more, counts=counts)
