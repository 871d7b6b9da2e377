"""The permission re-check of a search page's posts and comments, as SQL compiled once.

Whatever answered a search, the page's posts and comments are asked of the permission
module once more before anything is shown (STYLE.md rule 8): its posts in `visible_posts`
(the posts asked for, and the posts of the comments asked for), its comments not deleted.
The same statement loads what a result shows, as values.

The ORM takes longer to build and compile that query than the database takes to run it, so
it is compiled once per viewer shape (`shaped_sql`: it holds the permission's SQL), the
viewer's id and agency and the page's ids being parameters, and run with the column
converters the ORM would apply. One statement a page: posts and comments, each kind as a
row of `ROW_NAMES`.

On PostgreSQL the database backend runs it inside the walk that finds the page (`Folded`):
the same SQL, compiled from the same querysets, with the page's ids read from the walk's
rows instead of parameters: one statement finds a page and re-checks it, a round trip less.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import CharField, F, QuerySet, Value
from django.db.models.expressions import RawSQL

import permissions
from feeds.compiled import ShapeError, statement_cursor
from feeds.models import Comment

from .backends.database import _LRU, bind, shaped_sql, viewer_shape
from .models import SearchDocument

Kind = SearchDocument.Kind

_POST_IDS = object()  # where the page's post ids go among a compiled query's parameters
_COMMENT_IDS = object()  # ... and its comment ids
_COMPILED = _LRU(4096)
ROW_NAMES = (
    "kind", "pk", "post_id", "created", "body", "audience", "author__username",
    "author__profile__display_name", "group__name", "agency__name",
)  # fmt: skip
# The walk's rows, as a folded re-check reads them (a name of ours: no input in the SQL).
HITS = "agora_page_hits"
HIT_COLUMNS = ("id", "kind", "object_id", "rank", "title", "body")  # a walk's, with headlines


@dataclass
class CheckedRows:
    """What the re-check gave for some of a page's hits: their rows, for `viewer` only."""

    viewer: object
    posts: dict[int, dict] = field(default_factory=dict)  # visible posts, by id
    comments: list[dict] = field(default_factory=list)  # comments not deleted
    covered: set[tuple[str, int]] = field(default_factory=set)  # (kind, id) re-checked


def _ids_subquery(marker, *, posts_of_comments: bool = False, hits: bool = False) -> RawSQL:
    """The ids given for `marker`; with `posts_of_comments`, and the posts of the page's
    comments (deleted or not: a deleted comment is dropped by its own row's filter).
    `hits` (PostgreSQL): the ids of the walk's rows of that kind, as an array (the shape of
    the parameter it stands for, so the plan is the same)."""
    table = connection.ops.quote_name(Comment._meta.db_table)  # ours: no input in the SQL
    if hits:
        kind = {_POST_IDS: Kind.POST, _COMMENT_IDS: Kind.COMMENT}
        rows = f"ARRAY(SELECT object_id FROM {HITS} WHERE kind = '%s')"  # noqa: S608  (our kinds)
        ids, of_comments = f"SELECT unnest({rows})", f"= ANY({rows})"
        ids, of_comments = ids % kind[marker], of_comments % kind[_COMMENT_IDS]
        params = []
    elif connection.vendor == "postgresql":
        ids, of_comments = "SELECT unnest(%s::bigint[])", "= ANY(%s::bigint[])"
        params = [marker, _COMMENT_IDS]
    else:
        ids, of_comments = "SELECT value FROM json_each(%s)", "IN (SELECT value FROM json_each(%s))"
        params = [marker, _COMMENT_IDS]
    if not posts_of_comments:
        return RawSQL(ids, params[:1])  # noqa: S611  (literal SQL, one of those above)
    sql = f'{ids} UNION ALL SELECT "post_id" FROM {table} WHERE "id" {of_comments}'  # noqa: S608
    return RawSQL(sql, params)  # noqa: S611


def _page_rows_query(viewer, agency_id, *, hits: bool = False) -> QuerySet:
    """The page's posts the viewer (of agency `agency_id`) may see (`visible_posts`: the
    posts asked for, and the posts of the comments asked for), and its comments that are not
    deleted; one row shape. `hits`: the page's ids are the walk's rows (`HITS`)."""
    text = CharField()
    posts = (
        permissions.visible_posts(viewer, agency_id=agency_id)
        .filter(pk__in=_ids_subquery(_POST_IDS, posts_of_comments=True, hits=hits))
        .order_by()
        .values_list(
            Value(Kind.POST, output_field=text),
            "pk",
            F("id"),
            "created",
            "body",
            "audience",
            "author__username",
            "author__profile__display_name",
            "group__name",
            "agency__name",
        )
    )
    comments = (
        Comment.objects.filter(deleted__isnull=True, pk__in=_ids_subquery(_COMMENT_IDS, hits=hits))
        .order_by()
        .values_list(
            Value(Kind.COMMENT, output_field=text),
            "pk",
            "post_id",
            "created",
            "body",
            Value(None, output_field=text),
            "author__username",
            "author__profile__display_name",
            Value(None, output_field=text),
            Value(None, output_field=text),
        )
    )
    return posts.union(comments, all=True)


class _Compiled:
    """`_page_rows_query` compiled once for a viewer shape (`shaped_sql`): the viewer's id
    and agency, and the page's ids, are parameters. `own`: for `viewer` alone. `hits`: the
    folded form, whose ids are the walk's rows."""

    def __init__(self, viewer, *, own: bool = False, hits: bool = False):
        compilers = []

        def compile_sql(someone, agency_id):
            queryset = _page_rows_query(someone, agency_id, hits=hits)
            compilers.append(queryset.query.get_compiler(queryset.db))
            return compilers[-1].as_sql()

        self.sql, self.params, self.viewer_slots = shaped_sql(viewer, compile_sql, own=own)
        compiler = compilers[-1]
        markers = (_POST_IDS, _COMMENT_IDS)
        self.slots = [(i, p) for i, p in enumerate(self.params) if any(p is m for m in markers)]
        self.converters = list(compiler.get_converters([c[0] for c in compiler.select]).items())

    def bound(self, viewer, ids: dict | None = None) -> list:
        params = bind(self.params, self.viewer_slots, viewer)
        for position, marker in self.slots:
            given = [int(i) for i in ids[marker]]
            params[position] = given if connection.vendor == "postgresql" else json.dumps(given)
        return params

    def row(self, values: list) -> dict:
        """One row as the ORM would give it (its converters applied), by `ROW_NAMES`."""
        for position, (functions, expression) in self.converters:
            value = values[position]
            for function in functions:
                value = function(value, expression, connection)
            values[position] = value
        return dict(zip(ROW_NAMES, values, strict=True))

    def rows(self, viewer, ids: dict) -> list[dict]:
        # On PostgreSQL a server-binding cursor, so that the statement is prepared and not
        # planned anew for each page (planning took 0.8 ms, running 0.2 ms).
        with statement_cursor(connection) as cursor:
            cursor.execute(self.sql, self.bound(viewer, ids))
            fetched = cursor.fetchall()
        return [self.row(list(row)) for row in fetched]


def _compiled(viewer, *, hits: bool = False) -> _Compiled | None:
    """The re-check compiled for `viewer`'s shape; None when they may see no post."""
    if not permissions.is_active_staff(viewer):
        return None
    key = (connection.alias, connection.vendor, "page", hits, *viewer_shape(viewer)[0])
    compiled = _COMPILED.lookup(key)
    if compiled is None:
        try:
            compiled = _COMPILED.store(key, _Compiled(viewer, hits=hits))
        except EmptyResultSet:  # e.g. .none() for someone who may see nothing
            return None
        except ShapeError:  # pragma: no cover - the ORM inlined a value: this viewer's own
            compiled = _Compiled(viewer, own=True, hits=hits)
    return compiled


def split(rows: list[dict]) -> tuple[dict[int, dict], list[dict]]:
    """Re-checked rows as (visible posts by id, comments not deleted)."""
    posts = {row["pk"]: row for row in rows if row["kind"] == Kind.POST}
    return posts, [row for row in rows if row["kind"] == Kind.COMMENT]


def page_rows(viewer, post_ids, comment_ids) -> tuple[dict[int, dict], list[dict]]:
    """The page's posts the viewer may see (by id; with the posts of its comments) and its
    comments that are not deleted (whose post the caller looks for among those posts)."""
    compiled = _compiled(viewer)
    if compiled is None:
        return {}, []
    return split(compiled.rows(viewer, {_POST_IDS: post_ids, _COMMENT_IDS: comment_ids}))


class Folded:
    """The re-check run inside a walk's statement (PostgreSQL): the walk becomes a CTE,
    `HITS`, whose rows' ids the re-check reads; both come back in one result, side by side
    (a FULL JOIN ON false: each row is a hit or a re-checked row, NULLs for the other).
    Collects what it re-checked for the page (`checked`), for `viewer` only."""

    def __init__(self, viewer, compiled: _Compiled):
        self.compiled = compiled
        self.checked = CheckedRows(viewer=viewer)
        self.params = compiled.bound(viewer)

    @classmethod
    def for_viewer(cls, viewer) -> Folded | None:
        compiled = _compiled(viewer, hits=True)
        return cls(viewer, compiled) if compiled is not None else None

    def wrap(self, sql: str, params: list) -> tuple[str, list]:
        """The walk `sql` (rows of `HIT_COLUMNS`) with the re-check of its rows in the same
        statement."""
        # Our SQL and the ORM's; every value is a parameter.
        cte = f"WITH {HITS} ({', '.join(HIT_COLUMNS)}) AS MATERIALIZED ({sql}) "
        join = f"FULL JOIN ({self.compiled.sql}) AS r ON false"
        both = f"SELECT {HITS}.*, r.* FROM {HITS} {join}"  # noqa: S608
        return cte + both, [*params, *self.params]

    def unwrap(self, rows: list) -> list:
        """The walk's own rows (newest first); the re-checked ones are kept in `checked`."""
        hits, checked = [], []
        width = len(HIT_COLUMNS)
        for row in rows:
            if row[0] is not None:
                hits.append(row[:width])
            else:
                checked.append(self.compiled.row(list(row[width:])))
        posts, comments = split(checked)
        self.checked.posts.update(posts)
        self.checked.comments += comments
        self.checked.covered.update((h[1], h[2]) for h in hits)
        hits.sort(key=lambda h: -h[0])
        return hits
