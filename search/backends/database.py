"""The database backend: PostgreSQL full-text search, or SQLite FTS5 on the embedded default.

Both search the `SearchDocument` table (search/models.py) and answer the same contract:
newest first by document id (ids are handed out in time order), or by relevance; hits
limited to what the viewer may see; snippets with matches between \\x02 and \\x03; counts
by kind, each stopping at COUNT_CAP.

Permission. The queries never trust the copied permission facts: each candidate document is
checked with the permission module's own querysets, compiled to SQL by the ORM and run as a
correlated scalar sub-query per row (`post_id = (SELECT id FROM visible_posts(viewer) WHERE
id = post_id)`, `visible_groups(viewer)`, active people), so a hit, a count or a snippet
exists only for what the viewer may see. The selector re-checks the page's ids once more
through the permission module before rendering.

Plans. PostgreSQL: see search/backends/postgresql.py (newest first without letting the
planner choose between the GIN index and a walk). SQLite: FTS5 walks its doclists in rowid
order and stops at the LIMIT, so newest first is cheap whatever the word; the filters and
the permission sub-queries run on the rows it yields (search/backends/sqlite.py).
"""

from __future__ import annotations

import heapq
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from datetime import time as dtime

from django.core.exceptions import FullResultSet
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

import permissions
from feeds.compiled import ShapeError, StandIn, marker

from .. import conf, documents
from ..models import SearchDocument
from .base import (
    Hit,
    ReindexReport,
    SearchBackend,
    SearchPage,
    SearchRequest,
)

Kind = SearchDocument.Kind
TABLE = SearchDocument._meta.db_table
FTS_TABLE = "search_fts"
START, STOP = "\x02", "\x03"  # match markers in snippets (control characters: never in text)

# Relevance ranks the newest this-many visible matches (all of them for a rare word).
RELEVANCE_CANDIDATES = 500
WRITE_BATCH = 1000

_COLUMNS = [
    "kind", "object_id", "post_id", "audience", "agency_id", "group_id", "group_kind",
    "author_id", "created", "title", "body", "tags", "context",
]  # fmt: skip
_PG_TYPES = {
    "object_id": "bigint", "post_id": "bigint", "agency_id": "bigint", "group_id": "bigint",
    "author_id": "bigint", "created": "timestamptz",
}  # fmt: skip


def _pg_vector_sql(config_param: str = "%s") -> str:
    parts = [
        f"setweight(to_tsvector({config_param}::regconfig, v.{column}), '{weight}')"
        for column, weight in (("title", "A"), ("tags", "B"), ("body", "C"), ("context", "D"))
    ]
    return " || ".join(parts)


class DatabaseBackend(SearchBackend):
    name = "database"

    # --- writing -------------------------------------------------------------------------

    def index(self, documents: Sequence[SearchDocument]) -> None:
        for start in range(0, len(documents), WRITE_BATCH):
            batch = documents[start : start + WRITE_BATCH]
            if connection.vendor == "postgresql":
                self._upsert_postgresql(batch)
            else:
                self._upsert_sqlite(batch)

    def _row(self, document: SearchDocument) -> list:
        return [getattr(document, column) for column in _COLUMNS]

    def _upsert_postgresql(self, batch: Sequence[SearchDocument]) -> None:
        placeholders = ", ".join("(" + ", ".join(["%s"] * len(_COLUMNS)) + ")" for _ in batch)
        select = ", ".join(
            f"v.{column}::{_PG_TYPES[column]}" if column in _PG_TYPES else f"v.{column}"
            for column in _COLUMNS
        )
        updates = ", ".join(
            f"{column} = EXCLUDED.{column}" for column in [*_COLUMNS[2:], "updated", "vector"]
        )
        sql = (
            f"INSERT INTO {TABLE} ({', '.join(_COLUMNS)}, updated, vector) "
            f"SELECT {select}, now(), {_pg_vector_sql()} "
            f"FROM (VALUES {placeholders}) AS v({', '.join(_COLUMNS)}) "
            f"ON CONFLICT (kind, object_id) DO UPDATE SET {updates}"
        )
        language = conf.language()
        params: list = [language] * 4
        for document in batch:
            params.extend(self._row(document))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def _upsert_sqlite(self, batch: Sequence[SearchDocument]) -> None:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        updates = ", ".join(
            f"{column} = excluded.{column}" for column in [*_COLUMNS[2:], "updated"]
        )
        sql = (
            f"INSERT INTO {TABLE} ({', '.join(_COLUMNS)}, updated) "
            f"VALUES ({', '.join(['%s'] * (len(_COLUMNS) + 1))}) "
            f"ON CONFLICT (kind, object_id) DO UPDATE SET {updates}"
        )
        rows = []
        for document in batch:
            row = self._row(document)
            row[_COLUMNS.index("created")] = connection.ops.adapt_datetimefield_value(
                document.created
            )
            rows.append([*row, now])
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def delete(self, keys: Sequence[tuple[str, int]]) -> None:
        by_kind: dict[str, list[int]] = {}
        for kind, object_id in keys:
            by_kind.setdefault(kind, []).append(object_id)
        for kind, ids in by_kind.items():
            SearchDocument.objects.filter(kind=kind, object_id__in=ids).delete()

    def delete_comments_of_post(self, post_id: int) -> list[int]:
        qs = SearchDocument.objects.filter(kind=Kind.COMMENT, post_id=post_id)
        ids = list(qs.values_list("object_id", flat=True))
        qs.delete()
        return ids

    # --- rebuilding ----------------------------------------------------------------------

    def reindex(self, *, progress: Callable[[int], None] | None = None) -> ReindexReport:
        """Rebuild the table in one transaction: searches see the old rows until it commits.

        Documents are inserted oldest first, so ids are in time order again afterwards.
        """
        started = time.perf_counter()
        total = 0
        with transaction.atomic():
            if connection.vendor == "sqlite":
                from .sqlite import empty_index

                empty_index()
            else:
                SearchDocument.objects.all().delete()
            # People and groups are few: sort them by date in memory; posts and comments
            # come in id order, which is their time order.
            small = sorted(
                [*documents.iterate(Kind.PERSON), *documents.iterate(Kind.GROUP)],
                key=lambda d: d.created,
            )
            stream = heapq.merge(
                small,
                documents.iterate(Kind.POST),
                documents.iterate(Kind.COMMENT),
                key=lambda d: d.created,
            )
            batch: list[SearchDocument] = []
            for document in stream:
                batch.append(document)
                if len(batch) >= WRITE_BATCH:
                    self.index(batch)
                    total += len(batch)
                    if progress:
                        progress(len(batch))
                    batch = []
            if batch:
                self.index(batch)
                total += len(batch)
                if progress:
                    progress(len(batch))
        analyze()
        if connection.vendor == "postgresql":
            from .postgresql import forget_cached_statistics

            forget_cached_statistics()
        else:
            from .sqlite import forget_first_ids

            forget_first_ids()  # still lower bounds (ids only grow), but no longer tight
        return ReindexReport(documents=total, seconds=time.perf_counter() - started)

    def cluster(self) -> float:
        """PostgreSQL: rewrite the table in id order (CLUSTER); returns the seconds it took.

        Newest-first search reads documents in id order and confines GIN searches to id
        windows with a BRIN index, both of which assume that id order is the table's physical
        order. New documents are appended, so that holds, but a rebuild's inserts reuse the
        space the previous rebuild freed and land all over the table. CLUSTER puts them back
        in order. It locks the table (searches wait) for about a minute per million
        documents: run it after `search_reindex` in a quiet hour (`search_reindex --cluster`).
        """
        started = time.perf_counter()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"CLUSTER {TABLE} USING {TABLE}_pkey")
                cursor.execute(f"ANALYZE {TABLE}")
            from .postgresql import forget_cached_statistics

            forget_cached_statistics()
        return time.perf_counter() - started

    # --- searching -----------------------------------------------------------------------

    def search(self, request: SearchRequest, *, viewer) -> SearchPage:
        if not permissions.is_active_staff(viewer) or not request.document_kinds:
            return SearchPage(hits=[], has_more=False, counts={}, backend=self.name)
        parts = where_parts(request, viewer)
        if connection.vendor == "postgresql":
            from .postgresql import search_postgresql

            page = search_postgresql(request, parts, viewer)
        else:
            from .sqlite import search_sqlite

            filters, filter_params, allowed, allowed_params = parts
            page = search_sqlite(
                request, f"({filters}) AND ({allowed})", [*filter_params, *allowed_params]
            )
        page.backend = self.name
        return page


# --- the filters and the permission, as SQL over the document table ------------------------


def permitted_q(viewer, kinds: Sequence[str], **agency) -> Q:
    """Documents `viewer` may see, by the permission module's own querysets (`agency`:
    `agency_id=`, the viewer's agency, for `visible_posts` when the caller has it).

    Each check is a scalar sub-query on the document's own row (`post_id = (SELECT id FROM
    visible_posts(viewer) WHERE id = post_id LIMIT 1)`): PostgreSQL can neither turn it into a
    join over every visible post nor hash it, so it costs one index lookup per candidate,
    and the query only ever asks it of documents that already match the words.
    """
    from django.contrib.auth import get_user_model

    clauses = Q(pk=0)  # (never true) so that every clause below is an OR branch
    post_kinds = [k for k in kinds if k in (Kind.POST, Kind.COMMENT)]
    if post_kinds:
        visible = permissions.visible_posts(viewer, **agency).filter(pk=OuterRef("post_id"))
        clauses |= Q(kind__in=post_kinds, post_id=Subquery(visible.values("pk")[:1]))
    if Kind.PERSON in kinds and permissions.can_view_profiles(viewer):
        active = get_user_model().objects.filter(pk=OuterRef("author_id"), is_active=True)
        clauses |= Q(kind=Kind.PERSON, author_id=Subquery(active.values("pk")[:1]))
    if Kind.GROUP in kinds:
        clauses |= Q(kind=Kind.GROUP, group_id__in=permissions.visible_groups(viewer).values("pk"))
    return clauses


def day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, dtime.min))


def filters_q(request: SearchRequest) -> Q:
    q = Q()
    if request.agency_id is not None:
        q &= Q(agency_id=request.agency_id)
    if request.group_id is not None:
        q &= Q(group_id=request.group_id)
    if request.author_id is not None:
        q &= Q(author_id=request.author_id)
    if request.date_from:
        q &= Q(created__gte=day_start(request.date_from))
    if request.date_to:
        q &= Q(created__lt=day_start(request.date_to + timedelta(days=1)))
    if request.hashtag:
        from feeds.models import Post

        tagged = Post.hashtags.through.objects.filter(hashtag__name=request.hashtag.lower())
        q &= Q(post_id__in=tagged.values("post_id"))
    return q


def _compile(q: Q) -> tuple[str, list]:
    """A Q over SearchDocument as SQL (columns named "search_searchdocument"."col")."""
    query = SearchDocument.objects.filter(q).query
    compiler = query.get_compiler(connection=connection)
    try:
        sql, params = compiler.compile(query.where)
    except FullResultSet:  # no condition at all (Q())
        return "1 = 1", []
    return (sql or "1 = 1"), list(params)


class _LRU(OrderedDict):
    """A small least-recently-used map for compiled SQL."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def lookup(self, key):
        value = self.get(key)
        if value is not None:
            try:
                self.move_to_end(key)
            except KeyError:  # pragma: no cover - dropped by another thread meanwhile
                pass
        return value

    def store(self, key, value):
        self[key] = value
        if len(self) > self.size:
            try:
                self.popitem(last=False)
            except KeyError:  # pragma: no cover - emptied by another thread meanwhile
                pass
        return value


_PERMISSION_SQL = _LRU(4096)
_FILTER_SQL = _LRU(1024)

# One search (the selector's call, with its side lists and its re-check) reads what the
# permission module reads in Python about the viewer once: see `viewer_key`.
_SCOPE: ContextVar[dict | None] = ContextVar("search_permission_scope", default=None)


@contextmanager
def permission_scope() -> Iterator[None]:
    """Within this block, `viewer_key` reads each viewer's agency once (one search)."""
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def viewer_key(viewer) -> tuple:
    """Everything the permission module reads in Python about `viewer`: the user, whether
    they are active and staff, and their agency (read fresh: once per search inside a
    `permission_scope`, once per call outside one). Memberships and invitations are read by
    the SQL itself, so they are always current. Compiled permission SQL is keyed by this."""
    scope = _SCOPE.get()
    if scope is not None:
        cached = scope.get(id(viewer))
        if cached is not None and cached[0] is viewer:
            return cached[1]
    key = (
        connection.alias,
        viewer.pk,
        permissions.is_active_staff(viewer),
        bool(getattr(viewer, "is_staff", False)),
        permissions.agency_id_of(viewer),
    )
    if scope is not None:
        scope[id(viewer)] = (viewer, key)
    return key


# Where a viewer's own values stand in SQL compiled for every viewer of a shape.
VIEWER_MARKER, AGENCY_MARKER = marker(0), marker(1)


def viewer_shape(viewer) -> tuple[tuple, dict[int, int | None]]:
    """What SQL compiled from the permission module depends on for `viewer` (its shape:
    active staff or not, in the admin's staff or not, with an agency or not) and the values
    it runs with (by marker: the viewer's id and agency). Read through `viewer_key`, so once
    per search. Someone who is not active staff sees nothing whatever their id: their SQL
    holds no value of theirs, and is keyed by their id all the same."""
    alias, pk, staff, is_staff, agency = viewer_key(viewer)
    if not staff:
        return (alias, False, is_staff, pk), {}
    return (alias, True, is_staff, agency is not None), {VIEWER_MARKER: pk, AGENCY_MARKER: agency}


def shaped_sql(
    viewer, compile_sql: Callable, *, own: bool = False
) -> tuple[str, list, list[tuple[int, int]]]:
    """`compile_sql(someone, agency_id)` -> (sql, params), compiled once for the shape of
    `viewer` (`viewer_shape`): for active staff, for a stand-in whose id and agency are
    markers. Returns the SQL, its parameters and the (position, marker) slots that `bind`
    fills with a viewer's values. Raises ShapeError when a marker is not a parameter of its
    own (written into the SQL, or inside a list): that SQL could not serve another viewer.
    `own`: compiled for `viewer` alone, with their values (no slots)."""
    shape, values = viewer_shape(viewer)
    if not values or own:
        sql, params = compile_sql(viewer, values.get(AGENCY_MARKER))
        return sql, list(params), []
    stand_in = StandIn(VIEWER_MARKER, is_staff=shape[2])
    sql, params = compile_sql(stand_in, AGENCY_MARKER if shape[3] else None)
    params = list(params)
    markers = (VIEWER_MARKER, AGENCY_MARKER)
    slots = [(i, p) for i, p in enumerate(params) if type(p) is int and p in markers]
    taken = {i for i, _marker in slots}
    rest = sql + repr([p for i, p in enumerate(params) if i not in taken])
    if any(str(m) in rest for m in markers):
        raise ShapeError("a viewer's value is not a parameter of its own")
    return sql, params, slots


def bind(params: list, slots: list[tuple[int, int]], viewer) -> list:
    """`params` of SQL from `shaped_sql`, with `viewer`'s own values in its slots."""
    _shape, values = viewer_shape(viewer)
    out = list(params)
    for position, mark in slots:
        out[position] = values[mark]
    return out


def permission_sql(viewer, kinds: Sequence[str]) -> tuple[str, list]:
    """`permitted_q(viewer, kinds)` compiled, remembered per viewer shape (`shaped_sql`).

    Compiling the permission module's querysets costs more than running them (~2 ms), so
    the SQL is kept, keyed by everything the module reads in Python, with the viewer's id
    and agency as parameters: one compilation serves every viewer of a shape.
    """
    shape, _values = viewer_shape(viewer)
    key = (*shape, tuple(kinds))
    cached = _PERMISSION_SQL.lookup(key)
    if cached is None:

        def compile_sql(someone, agency_id):
            return _compile(permitted_q(someone, kinds, agency_id=agency_id))

        try:
            cached = _PERMISSION_SQL.store(key, shaped_sql(viewer, compile_sql))
        except ShapeError:  # pragma: no cover - the ORM inlined a value: this viewer's own
            cached = shaped_sql(viewer, compile_sql, own=True)
    sql, params, slots = cached
    return sql, bind(params, slots, viewer)


def filter_sql(request: SearchRequest, *, kinds: bool = True) -> tuple[str, list]:
    """The kinds and filters of `request` as SQL, remembered (the ORM compiles a Q in about a
    millisecond; the same few filter sets come back all the time). `kinds=False`: the
    filters without the kinds (`kinds_sql` gives those), for a walk that tests the kind only
    of the documents that match its words."""
    key = (
        connection.alias,
        request.document_kinds if kinds else None,
        request.agency_id,
        request.group_id,
        request.author_id,
        request.hashtag.lower(),
        request.date_from,
        request.date_to,
        timezone.get_current_timezone_name() if request.date_from or request.date_to else "",
    )
    cached = _FILTER_SQL.lookup(key)
    if cached is None:
        q = filters_q(request)
        cached = _FILTER_SQL.store(
            key, _compile(Q(kind__in=request.document_kinds) & q if kinds else q)
        )
    return cached[0], list(cached[1])


def kinds_sql(request: SearchRequest) -> tuple[str, list]:
    """The document kinds of `request` as SQL (what `filter_sql(..., kinds=False)` leaves
    out)."""
    key = (connection.alias, "kinds", request.document_kinds)
    cached = _FILTER_SQL.lookup(key)
    if cached is None:
        cached = _FILTER_SQL.store(key, _compile(Q(kind__in=request.document_kinds)))
    return cached[0], list(cached[1])


def where_parts(request: SearchRequest, viewer) -> tuple[str, list, str, list]:
    """(filters SQL, params, permission SQL, params), compiled by the ORM for our SELECTs.

    The hand-written queries select FROM search_searchdocument without an alias, so the
    compiled column references fit. The permission part is kept apart: PostgreSQL queries
    wrap it in `( ... ) IS TRUE`, so that nothing in it can be pulled into a join.
    """
    filters, filter_params = filter_sql(request)
    allowed, allowed_params = permission_sql(viewer, request.document_kinds)
    return filters, filter_params, allowed, allowed_params


def analyze() -> None:
    """Fresh statistics after a rebuild (both databases spell it the same)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")


def hit(kind: str, object_id: int, seq: int, snippet: str = "", title: str = "", score=None):
    return Hit(
        kind=kind,
        object_id=object_id,
        seq=seq,
        snippet=snippet or "",
        title_snippet=title or "",
        score=score,
    )
