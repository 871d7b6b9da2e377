"""SQLite FTS5 queries for the database backend (the embedded default).

`search_fts` is an external-content FTS5 table over search_searchdocument (rowid = document
id), kept in step by triggers (migration 0002). FTS5 reads its doclists in rowid order and
honours `ORDER BY rowid DESC LIMIT n` by stopping early, so "newest first" costs about the
same for a rare word as for a common one; each candidate row then meets the filters and the
permission sub-queries. Relevance is FTS5's `bm25()` with column weights, over the newest
RELEVANCE_CANDIDATES matches when a match is frequent; for one term, its order is computed
here instead (`_ranked_by_frequency`): bm25() counts every document holding a term for its
IDF, which took 80-190 ms for a word in most posts, whatever the LIMIT.

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
MARK = "\x01"  # where highlight() found the term, when counting (never in text)

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


# FTS5's bm25 constants, and the weights BM25 gives the text columns (FTS column numbers).
K1, B = 1.2, 0.75
TEXT_WEIGHTS = ((1, 10.0), (2, 4.0), (3, 1.0), (4, 0.5))  # title, tags, body, context


def _one_term(query) -> bool:
    """The words are one term (a word, or a quoted phrase), with or without excluded ones."""
    return len(query.clauses) == 1 and sum(not t.negated for t in query.clauses[0]) == 1


def varints(blob: bytes) -> list[int]:
    """The integers of a blob of SQLite variable-length integers (FTS5's sizes: `%_docsize`,
    one per column and row; the averages record of `%_data`, rows then tokens per column)."""
    out, i = [], 0
    while i < len(blob):
        value = 0
        for position in range(9):
            byte = blob[i]
            i += 1
            if position == 8:  # the ninth byte gives all its eight bits
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        out.append(value)
    return out


def _average_tokens(cursor) -> float:
    """Tokens per row over the whole FTS table, as bm25() reads them (the averages record)."""
    cursor.execute(f"SELECT block FROM {FTS_TABLE}_data WHERE id = 1")
    row = cursor.fetchone()
    counts = varints(bytes(row[0])) if row else []
    return sum(counts[1:]) / counts[0] if counts and counts[0] else 1.0


def _ranked_by_frequency(condition: str, params: list, match: str) -> list[tuple]:
    """(id, kind, object_id, score) of the newest RELEVANCE_CANDIDATES matches of a one-term
    search, best first, in the order FTS5's `bm25()` gives them, without calling it.

    bm25() first counts, for its IDF, every document that holds each term of the query: a
    walk of the term's whole doclist, whatever the LIMIT (121 ms for one row of a word in 83%
    of a million posts, against 5 ms for its newest 500 matches). With one term the IDF
    multiplies every score alike, so the order is bm25's own formula without it: the term's
    weighted count in the row (from highlight()'s marks), saturated by K1 and normalised by
    B for the row's tokens (`%_docsize`) against the table's average. Excluded words and
    filter tokens weigh nothing in bm25 either. Scores are bm25's divided by the IDF.
    """
    marks = ", ".join(f"highlight({FTS_TABLE}, {column}, %s, '')" for column, _w in TEXT_WEIGHTS)
    sql = (
        f"SELECT {TABLE}.id, {TABLE}.kind, {TABLE}.object_id, sizes.sz, {marks} "
        f"FROM {_source(match)} JOIN {FTS_TABLE}_docsize AS sizes ON sizes.id = {TABLE}.id "
        f"WHERE {condition} ORDER BY {FTS_TABLE}.rowid DESC LIMIT {RELEVANCE_CANDIDATES}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [MARK] * len(TEXT_WEIGHTS) + params)
        rows = cursor.fetchall()
        average = _average_tokens(cursor) if rows else 1.0
    scored = []
    for document_id, kind, object_id, sizes, *texts in rows:
        weighted = sum(
            weight * (text or "").count(MARK)
            for (_column, weight), text in zip(TEXT_WEIGHTS, texts, strict=True)
        )
        tokens = sum(varints(bytes(sizes)))
        score = weighted * (K1 + 1) / (weighted + K1 * (1 - B + B * tokens / average))
        scored.append((document_id, kind, object_id, -score))  # bm25's sign: lower is better
    scored.sort(key=lambda row: (row[3], -row[0]))
    return scored


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
    elif _one_term(request.query):
        sql = None  # ranked here, as bm25 would rank them (_ranked_by_frequency)
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
    if sql is None:
        ranked = _ranked_by_frequency(condition, [*head, *params], match)
        rows = ranked[request.offset : request.offset + limit + 1]
    else:
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
