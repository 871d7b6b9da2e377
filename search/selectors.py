"""Read path of search: ask the backend, fall back, re-check, hydrate.

`search(viewer=..., request=...)` asks the primary backend (the database, or Elasticsearch).
If Elasticsearch cannot be reached, the database backend answers and the page says so.
Whatever answered, the ids of the page are checked once more through the permission module
(`visible_posts`, `visible_comments`, `visible_groups`, active staff for people) before
anything is shown: an index is never trusted for access (STYLE.md rule 8).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import CharField, F, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

import permissions
from feeds.compiled import ShapeError, statement_cursor
from feeds.models import Comment, Post
from groups.models import Group
from intranet.paths import url_maker
from profiles.models import Profile

from . import backends, snippets
from .backends.base import (
    COUNT_CAP,
    RELEVANCE_MAX_OFFSET,
    SORT_NEWEST,
    SORT_RELEVANCE,
    BackendUnavailable,
    Hit,
    SearchPage,
    SearchRequest,
)
from .backends.database import _LRU, bind, permission_scope, shaped_sql, viewer_shape
from .models import SearchDocument

logger = logging.getLogger(__name__)
Kind = SearchDocument.Kind


class InvalidCursor(ValueError):
    pass


def encode_cursor(*, sort: str, value: int) -> str:
    raw = f"{'n' if sort == SORT_NEWEST else 'r'}{value}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, sort: str) -> int:
    """The position a cursor points at; InvalidCursor if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(_("This page link is broken: search again.")) from exc
    prefix = "n" if sort == SORT_NEWEST else "r"
    if len(raw) < 2 or raw[0] != prefix or not raw[1:].isdigit() or len(raw) > 20:
        raise InvalidCursor(_("This page link is broken: search again."))
    return int(raw[1:])


@dataclass
class Result:
    """One hit, checked and ready to show."""

    kind: str  # post, comment, person, group
    pk: int  # the post's, comment's, profile's or group's id
    url: str
    title: str
    snippet: SafeString
    title_snippet: SafeString
    created: datetime | None
    raw_snippet: str = ""


@dataclass
class Results:
    results: list[Result]  # the page: posts and comments, or the one kind asked for
    counts: dict[str, int]  # by filter kind: post (posts and comments), person, group
    capped: bool  # a count stopped at COUNT_CAP
    has_more: bool
    next_cursor: str | None
    backend: str
    notice: str = ""
    people: list[Result] = field(default_factory=list)  # "everything", first page: the best few
    groups: list[Result] = field(default_factory=list)
    dropped: int = 0  # hits the re-check removed (a stale index); for logs and tests
    counted: bool = True  # False: counts not asked for (or a later page), `counts` is empty

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def facets(self) -> list[tuple[str, int, bool]]:
        """(kind, count, capped) for each kind with results, in a stable order."""
        order = [Kind.POST, Kind.PERSON, Kind.GROUP]
        return [(k, self.counts[k], self.counts[k] >= COUNT_CAP) for k in order if k in self.counts]


SIDE_LIST_SIZE = 3


class _Searcher:
    """Runs the backend calls of one search, falling back to the database once if needed."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.notice = ""
        self.backend = backends.primary_backend()

    def run(self, request: SearchRequest) -> SearchPage:
        if not request.document_kinds:
            return SearchPage(hits=[], has_more=False, counts={}, backend=self.backend.name)
        try:
            return self.backend.search(request, viewer=self.viewer)
        except BackendUnavailable as exc:
            logger.warning("search falls back to the database backend: %s", exc)
            self.backend = backends.database_backend()
            self.notice = _(
                "The full search service is not answering, so these results come from the "
                "built-in search. They may be ordered a little differently."
            )
            return self.backend.search(request, viewer=self.viewer)


def search(*, viewer, request: SearchRequest) -> Results:
    """The page of `request` that `viewer` may see.

    With no kind chosen, the page lists posts and comments, and the first page also shows
    the few best-matching people and groups (each side list links to its own search).
    What the permission module reads about the viewer in Python (their agency) is read once
    for the whole search: the backend's queries and the re-check share it.
    """
    with permission_scope():
        return _search(viewer=viewer, request=request)


def _search(*, viewer, request: SearchRequest) -> Results:
    searcher = _Searcher(viewer)
    first_page = request.after is None and request.offset == 0
    # Counting goes on past the page, up to COUNT_CAP matches the viewer may see: the first
    # page only, and only when the caller asks (the search page does; the API on `counts=true`).
    request = replace(request, with_counts=request.with_counts and first_page)
    side: dict[str, SearchPage] = {}
    if request.kinds:
        page = searcher.run(request)
    else:
        page = searcher.run(replace(request, kinds=(Kind.POST,)))
        if first_page:
            for kind in (Kind.PERSON, Kind.GROUP):
                side[kind] = searcher.run(
                    replace(
                        request,
                        kinds=(kind,),
                        limit=SIDE_LIST_SIZE,
                        sort=SORT_RELEVANCE if not request.query.match_all else SORT_NEWEST,
                    )
                )
    results, dropped = _checked(page, viewer=viewer)
    side_results = {kind: _checked(p, viewer=viewer) for kind, p in side.items()}
    dropped += sum(d for _r, d in side_results.values())
    if dropped:
        logger.info("search: %d hits removed by the permission re-check", dropped)
    next_cursor = None
    if page.has_more and page.hits:
        if request.sort == SORT_NEWEST or request.query.match_all:
            next_cursor = encode_cursor(sort=SORT_NEWEST, value=page.hits[-1].seq)
        elif request.offset + len(page.hits) < RELEVANCE_MAX_OFFSET:
            next_cursor = encode_cursor(sort=request.sort, value=request.offset + len(page.hits))
    counts: dict[str, int] = {}
    for p in (page, *side.values()) if request.with_counts else ():
        for kind, n in p.counts.items():
            public = Kind.POST if kind == Kind.COMMENT else kind
            counts[public] = min(COUNT_CAP, counts.get(public, 0) + n)
    return Results(
        results=results,
        counts=counts,
        capped=any(n >= COUNT_CAP for n in counts.values()),
        has_more=page.has_more,
        next_cursor=next_cursor,
        backend=searcher.backend.name,
        notice=searcher.notice,
        people=side_results.get(Kind.PERSON, ([], 0))[0],
        groups=side_results.get(Kind.GROUP, ([], 0))[0],
        dropped=dropped,
        counted=request.with_counts,
    )


def _ids(hits: list[Hit], kind: str) -> list[int]:
    return [h.object_id for h in hits if h.kind == kind]


# --- the re-check and the page's rows, as SQL compiled once ---------------------------------
# The ORM takes longer to build and compile the re-check's querysets than the database takes
# to run them, so the re-check is compiled once (per viewer shape: it holds the permission's
# SQL) with the page's ids as parameters, and run with the same column converters the ORM
# would apply. One statement a page: the posts and the comments, each kind as a row of
# `_ROW_NAMES` (one round trip fewer than a statement each, on PostgreSQL about 0.3 ms).

_POST_IDS = object()  # where the page's post ids go among a compiled query's parameters
_COMMENT_IDS = object()  # ... and its comment ids
_COMPILED = _LRU(4096)
_ROW_NAMES = (
    "kind", "pk", "post_id", "created", "body", "audience", "author__username",
    "author__profile__display_name", "group__name", "agency__name",
)  # fmt: skip


def _ids_subquery(marker, *, posts_of_comments: bool = False) -> RawSQL:
    """The ids given for `marker`; with `posts_of_comments`, and the posts of the page's
    comments (deleted or not: a deleted comment is dropped by its own row's filter)."""
    table = connection.ops.quote_name(Comment._meta.db_table)  # ours: no input in the SQL
    if connection.vendor == "postgresql":
        ids, of_comments = "SELECT unnest(%s::bigint[])", "= ANY(%s::bigint[])"
    else:
        ids, of_comments = "SELECT value FROM json_each(%s)", "IN (SELECT value FROM json_each(%s))"
    if not posts_of_comments:
        return RawSQL(ids, [marker])  # noqa: S611  (literal SQL, one of two above)
    sql = f'{ids} UNION ALL SELECT "post_id" FROM {table} WHERE "id" {of_comments}'  # noqa: S608
    return RawSQL(sql, [marker, _COMMENT_IDS])  # noqa: S611


def _page_rows_query(viewer, agency_id) -> QuerySet:
    """The page's posts the viewer (of agency `agency_id`) may see (`visible_posts`: the
    posts asked for, and the posts of the comments asked for), and its comments that are not
    deleted; one row shape."""
    text = CharField()
    posts = (
        permissions.visible_posts(viewer, agency_id=agency_id)
        .filter(pk__in=_ids_subquery(_POST_IDS, posts_of_comments=True))
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
        Comment.objects.filter(deleted__isnull=True, pk__in=_ids_subquery(_COMMENT_IDS))
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
    and agency, and the page's ids, are parameters. `own`: for `viewer` alone."""

    def __init__(self, viewer, *, own: bool = False):
        compilers = []

        def compile_sql(someone, agency_id):
            queryset = _page_rows_query(someone, agency_id)
            compilers.append(queryset.query.get_compiler(queryset.db))
            return compilers[-1].as_sql()

        self.sql, self.params, self.viewer_slots = shaped_sql(viewer, compile_sql, own=own)
        compiler = compilers[-1]
        markers = (_POST_IDS, _COMMENT_IDS)
        self.slots = [(i, p) for i, p in enumerate(self.params) if any(p is m for m in markers)]
        self.converters = list(compiler.get_converters([c[0] for c in compiler.select]).items())

    def rows(self, viewer, ids: dict) -> list[dict]:
        params = bind(self.params, self.viewer_slots, viewer)
        for position, marker in self.slots:
            given = [int(i) for i in ids[marker]]
            params[position] = given if connection.vendor == "postgresql" else json.dumps(given)
        # On PostgreSQL a server-binding cursor, so that the statement is prepared and not
        # planned anew for each page (planning took 0.8 ms, running 0.2 ms).
        with statement_cursor(connection) as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        out = []
        for row in fetched:
            values = list(row)
            for position, (functions, expression) in self.converters:
                value = values[position]
                for function in functions:
                    value = function(value, expression, connection)
                values[position] = value
            out.append(dict(zip(_ROW_NAMES, values, strict=True)))
        return out


def _page_rows(viewer, post_ids, comment_ids) -> tuple[dict[int, dict], list[dict]]:
    """The page's posts the viewer may see (by id; with the posts of its comments) and its
    comments that are not deleted (whose post the caller looks for among those posts)."""
    if not permissions.is_active_staff(viewer):
        return {}, []
    key = (connection.alias, connection.vendor, "page", *viewer_shape(viewer)[0])
    compiled = _COMPILED.lookup(key)
    if compiled is None:
        try:
            compiled = _COMPILED.store(key, _Compiled(viewer))
        except EmptyResultSet:  # e.g. .none() for someone who may see nothing
            return {}, []
        except ShapeError:  # pragma: no cover - the ORM inlined a value: this viewer's own
            compiled = _Compiled(viewer, own=True)
    rows = compiled.rows(viewer, {_POST_IDS: post_ids, _COMMENT_IDS: comment_ids})
    posts = {row["pk"]: row for row in rows if row["kind"] == Kind.POST}
    return posts, [row for row in rows if row["kind"] == Kind.COMMENT]


def _checked(page: SearchPage, *, viewer) -> tuple[list[Result], int]:
    """Keep the hits the permission module allows, with what a result shows loaded.

    Posts: `visible_posts(viewer)`. Comments: not deleted, and their post in
    `visible_posts(viewer)` (the rule of `visible_comments`, asked in the same query as the
    posts: its own form reads every visible post on SQLite). Groups: `visible_groups`.
    People: active staff, for a viewer who `can_view_profiles`. Rows come as values (no
    model instances): a results page needs a handful of fields.
    """
    hits = page.hits
    found: dict[tuple[str, int], Result] = {}
    posts: dict[int, dict] = {}
    comments: list[dict] = []
    post_ids, comment_ids = _ids(hits, Kind.POST), _ids(hits, Kind.COMMENT)
    if post_ids or comment_ids:
        posts, comments = _page_rows(viewer, post_ids, comment_ids)
    by_id = {(h.kind, h.object_id): h for h in hits}
    post_url = url_maker("feeds:post") if posts else None
    for post_id in _ids(hits, Kind.POST):
        if post_id in posts:
            found[(Kind.POST, post_id)] = _post_result(
                by_id[(Kind.POST, post_id)], posts[post_id], post_url
            )
    for row in comments:
        post = posts.get(row["post_id"])
        if post is not None:
            hit = by_id[(Kind.COMMENT, row["pk"])]
            found[(Kind.COMMENT, row["pk"])] = _comment_result(hit, row, post, post_url)
    if ids := _ids(hits, Kind.GROUP):
        for group in permissions.visible_groups(viewer).filter(pk__in=ids).order_by():
            found[(Kind.GROUP, group.pk)] = _group_result(by_id[(Kind.GROUP, group.pk)], group)
    if (ids := _ids(hits, Kind.PERSON)) and permissions.can_view_profiles(viewer):
        people = (
            Profile.objects.filter(pk__in=ids, user__is_active=True)
            .select_related("user", "agency")
            .order_by()
        )
        for profile in people:
            found[(Kind.PERSON, profile.pk)] = _person_result(
                by_id[(Kind.PERSON, profile.pk)], profile
            )
    results = [found[key] for key in ((h.kind, h.object_id) for h in hits) if key in found]
    return results, len(hits) - len(results)


def _name(row: dict, prefix: str = "author__") -> str:
    return row[f"{prefix}profile__display_name"] or row[f"{prefix}username"]


def _make(hit: Hit, *, kind, pk, url, title, body, created) -> Result:
    text = hit.snippet or body
    return Result(
        kind=kind,
        pk=pk,
        url=url,
        title=title,
        snippet=snippets.render(text),
        title_snippet=snippets.render(hit.title_snippet) if hit.title_snippet else SafeString(""),
        created=created,
        raw_snippet=text,
    )


def _post_result(hit: Hit, row: dict, post_url: Callable[[int], str]) -> Result:
    place = row["group__name"] or (
        row["agency__name"] if row["audience"] == Post.Audience.AGENCY else ""
    )
    author = _name(row)
    title = _("%(author)s in %(place)s") % {"author": author, "place": place} if place else author
    return _make(
        hit,
        kind=Kind.POST,
        pk=row["pk"],
        url=post_url(row["pk"]),
        title=title,
        body=snippets.shorten(row["body"]),
        created=row["created"],
    )


def _comment_result(hit: Hit, row: dict, post: dict, post_url: Callable[[int], str]) -> Result:
    title = _("%(author)s commented on a post by %(post_author)s") % {
        "author": _name(row),
        "post_author": _name(post),
    }
    return _make(
        hit,
        kind=Kind.COMMENT,
        pk=row["pk"],
        url=post_url(row["post_id"]) + f"#comment-{row['pk']}",
        title=title,
        body=snippets.shorten(row["body"]),
        created=row["created"],
    )


def _group_result(hit: Hit, group: Group) -> Result:
    return _make(
        hit,
        kind=Kind.GROUP,
        pk=group.pk,
        url=group.get_absolute_url(),
        title=group.name,
        body=snippets.shorten(group.description),
        created=group.created,
    )


def _person_result(hit: Hit, profile: Profile) -> Result:
    details = [profile.job_title, profile.agency.name if profile.agency else ""]
    return _make(
        hit,
        kind=Kind.PERSON,
        pk=profile.pk,
        url=profile.get_absolute_url(),
        title=profile.display_name,
        body=" · ".join(d for d in details if d),
        created=None,
    )
