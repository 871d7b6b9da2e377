"""Read paths for posts: every one starts from permissions.visible_posts(viewer).

Feeds are keyset-paginated on the post id (ids grow with time): `before` pages back in time,
`since` returns what is newer than a cursor (oldest first, so a reconnecting client can walk
forward and miss nothing).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Aggregate,
    BooleanField,
    Count,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    sql,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject
from django.utils import timezone
from django.utils.dateparse import parse_datetime

import permissions
from groups.models import Group
from profiles.models import Follow

from .compiled import ShapeError, StandIn, Statement, Statements, marker
from .cursors import decode_cursor, encode_cursor
from .models import Attachment, Comment, Hashtag, Post, Reaction

MAX_PAGE_SIZE = 100


@dataclass
class FeedPage:
    items: list[Post]
    next_cursor: str | None  # pass as `before` for the next (older) page
    newest_cursor: str | None  # pass as `since` to read what came after this page
    has_more: bool
    extra: dict = field(default_factory=dict)


class _KindList(Aggregate):
    """The reaction kinds of a post, comma-separated (one short string per post)."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s, ',')"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG", **extra_context)


def _reaction_kinds(**filters) -> Subquery:
    return Subquery(
        Reaction.objects.filter(post=OuterRef("pk"), **filters)
        .order_by()
        .values("post")
        .annotate(kinds=_KindList("kind"))
        .values("kinds")
    )


class _JSONList(Aggregate):
    """A JSON array of the rows' values (jsonb on PostgreSQL, JSON text on SQLite)."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="JSONB_AGG", **extra_context)


def _json_rows(model, fields: dict[str, str], **filters) -> Subquery:
    return Subquery(
        model.objects.filter(**filters)
        .order_by()
        .values("post_id")
        .annotate(rows=_JSONList(JSONObject(**fields)))
        .values("rows")
    )


ATTACHMENT_FIELDS = [f.attname for f in Attachment._meta.concrete_fields]


# Columns of the author, their profile and the group that no card, live card or API post shows:
# left out of the pages' statements (less to send, convert and keep; no password hash in a
# feed). Read one anyway and Django fetches it alone; tests/feeds/test_feed_queries.py checks
# that no page does.
_NOT_ON_CARDS = (
    "author__password",
    "author__last_login",
    "author__is_superuser",
    "author__email",
    "author__is_staff",
    "author__date_joined",
    "author__profile__location",
    "author__profile__bio",
    "author__profile__languages",
    "author__profile__phone",
    "author__profile__manager",
    "author__profile__preferred_language",
    "group__description",
    "group__created_by",
    "group__created",
)


def _with_details(qs: QuerySet[Post], *, viewer=None) -> QuerySet[Post]:
    """Post rows with everything a card shows, in one query, whatever the page size: author,
    profile, agency, department, group, the viewer's own reactions and the attachments (as
    JSON); the comment count, the reaction tally and the hashtags are the post's own columns
    (Post.comment_count). `decorate_posts` turns them into what `post.attachments.all()` and
    `post.hashtags.all()` return, without a query."""
    viewer_id = getattr(viewer, "pk", None)
    mine = _reaction_kinds(user_id=viewer_id) if viewer_id is not None else Value("")
    return (
        qs.select_related(
            "author__profile__agency", "author__profile__department", "group", "agency"
        )
        .defer(*_NOT_ON_CARDS)
        .annotate(
            my_reaction_kinds=mine,
            attachment_rows=_json_rows(
                Attachment, {name: name for name in ATTACHMENT_FIELDS}, post=OuterRef("pk")
            ),
        )
    )


class _Loaded(QuerySet):
    """Rows read with their post, as `post.<name>.all()` returns them (see `_as_prefetched`).

    Asked for another query (`.filter()`, `.using()` in `post.hashtags.set()`, ...) it
    answers, as a prefetched queryset does, from the relation's own queryset, built then.
    """

    owner: Post
    relation: str

    def __init__(self, model):
        # QuerySet.__init__ builds its Query at once: two per card, for rows already here.
        # It is built when something reads it (`query` below).
        super().__init__(model=model, query=_UNBUILT)
        self._query = None

    @property
    def query(self):
        if self._query is None:
            self._query = sql.Query(self.model)
        return QuerySet.query.fget(self)

    @query.setter
    def query(self, value):
        QuerySet.query.fset(self, value)

    def _chain(self):
        manager = getattr(self.owner, self.relation)
        # The manager's queryset without the prefetched rows, filtered on this post.
        fresh = manager._apply_rel_filters(super(type(manager), manager).get_queryset())
        return fresh._chain()


_UNBUILT = object()  # a stand-in Query for QuerySet.__init__, replaced at once


def _as_prefetched(post: Post, name: str, instances: list) -> None:
    """Make `post.<name>.all()` return `instances` without a query, as prefetch_related does
    (without building the related manager's filtered queryset: a card never needs it)."""
    qs = _Loaded(model=_RELATED_MODELS[name])
    qs.owner, qs.relation = post, name
    qs._result_cache = instances
    qs._prefetch_done = True
    if not hasattr(post, "_prefetched_objects_cache"):
        post._prefetched_objects_cache = {}
    post._prefetched_objects_cache[name] = qs


_RELATED_MODELS = {"attachments": Attachment, "hashtags": Hashtag}


def related_list(post: Post, name: str) -> list:
    """`list(post.<name>.all())`; for rows read with the post (`_as_prefetched`, or
    prefetch_related) without building the related manager and its queryset, which cost more
    than reading the rows on a feed page."""
    loaded = getattr(post, "_prefetched_objects_cache", {}).get(name)
    if loaded is not None and loaded._result_cache is not None:
        return loaded._result_cache
    return list(getattr(post, name).all())


def _attach_related(post: Post) -> None:
    db = post._state.db
    attachments = []
    for row in sorted(post.attachment_rows or [], key=lambda r: r["id"]):
        created = parse_datetime(row["created"]) if row.get("created") else None
        if created is not None and timezone.is_naive(created):  # SQLite's JSON text
            created = timezone.make_aware(created, UTC)
        row["created"] = created
        attachments.append(
            Attachment.from_db(db, ATTACHMENT_FIELDS, [row[f] for f in ATTACHMENT_FIELDS])
        )
    tags = [
        Hashtag.from_db(db, ["id", "name"], [row["id"], row["name"]])
        for row in sorted(post.tag_rows or [], key=lambda r: r["name"])
    ]
    _as_prefetched(post, "attachments", attachments)
    _as_prefetched(post, "hashtags", tags)


# (kind, lazily translated label); `Kind.choices` builds this list anew on each access.
_REACTION_KINDS = tuple(Reaction.Kind.choices)


def decorate_posts(posts: list[Post], *, viewer) -> list[Post]:
    """Attach reaction counts and the viewer's own reactions: from what `_with_details` read
    with the posts, else in one query for the page."""
    ids = [p.pk for p in posts]
    viewer_id = getattr(viewer, "pk", None)  # None: a viewer-neutral card (live delivery)
    counts: dict[int, Counter] = defaultdict(Counter)
    mine: dict[int, set[str]] = defaultdict(set)
    if all(hasattr(p, "my_reaction_kinds") for p in posts):
        # Read with the posts (`_with_details`): no query of its own.
        for post in posts:
            _attach_related(post)
            counts[post.pk].update(post.reaction_tally or {})
            if viewer_id is not None:
                mine[post.pk].update(k for k in (post.my_reaction_kinds or "").split(",") if k)
    elif ids:
        for post_id, kind, user_id in Reaction.objects.filter(post_id__in=ids).values_list(
            "post_id", "kind", "user_id"
        ):
            counts[post_id][kind] += 1
            if viewer_id is not None and user_id == viewer_id:
                mine[post_id].add(kind)
    kinds = _REACTION_KINDS
    for post in posts:
        post_counts, post_mine = counts[post.pk], mine[post.pk]
        post.reaction_counts = [
            (kind, label, post_counts[kind], kind in post_mine) for kind, label in kinds
        ]
        post.reaction_total = sum(counts[post.pk].values())
        post.can_edit = viewer_id is not None and post.author_id == viewer_id
    return posts


def _page_size(limit) -> int:
    return max(1, min(int(limit or settings.AGORA_PAGE_SIZE), MAX_PAGE_SIZE))


def _page_query(qs: QuerySet[Post], *, viewer, before_id, since_id, size: int) -> QuerySet:
    """The statement of one keyset page: `size + 1` rows (the extra one says there is more)."""
    if since_id is not None:
        return _with_details(qs.filter(pk__gt=since_id), viewer=viewer).order_by("pk")[: size + 1]
    if before_id is not None:
        qs = qs.filter(pk__lt=before_id)
    return _with_details(qs, viewer=viewer).order_by("-pk")[: size + 1]


def _page_of(rows: list[Post], *, viewer, since, size: int) -> FeedPage:
    """The FeedPage of the rows `_page_query` read."""
    page = _keyset_page(rows, since=since, size=size, id_of=_pk)
    decorate_posts(page.items, viewer=viewer)
    return page


def _pk(post: Post) -> int:
    return post.pk


def _keyset_page(rows: list, *, since, size: int, id_of) -> FeedPage:
    """The FeedPage of `size + 1` rows read newest first (oldest first after `since`)."""
    has_more = len(rows) > size
    rows = rows[:size]
    if since:
        items = list(reversed(rows))  # shown newest first
        newest = encode_cursor(id_of(rows[-1])) if rows else since
        older = None
    else:
        items = rows
        older = encode_cursor(id_of(items[-1])) if has_more and items else None
        newest = encode_cursor(id_of(items[0])) if items else None
    return FeedPage(items=items, next_cursor=older, newest_cursor=newest, has_more=has_more)


def _cursor_ids(before, since) -> tuple[int | None, int | None]:
    """(before id, since id) of a request's cursors; `since` wins. Raises InvalidCursor."""
    if since:
        return None, decode_cursor(since)
    return (decode_cursor(before) if before else None), None


def _page(
    qs: QuerySet[Post], *, viewer, before=None, since=None, limit=None, as_rows=False
) -> FeedPage:
    """Keyset-paginate a visible-posts queryset. Raises InvalidCursor for a bad cursor."""
    size = _page_size(limit)
    before_id, since_id = _cursor_ids(before, since)
    query = _page_query(qs, viewer=viewer, before_id=before_id, since_id=since_id, size=size)
    if as_rows:
        return _rows_page(query.values_list(*POST_ROW_COLUMNS), since=since, size=size)
    return _page_of(list(query), viewer=viewer, since=since, size=size)


def home_feed_filter(viewer) -> Q:
    followed = Follow.objects.filter(follower_id=viewer.pk).values("followee_id")
    return (
        Q(author_id=viewer.pk)
        | Q(author_id__in=followed)
        | Q(group_id__in=permissions.member_group_ids(viewer))
        | Q(is_announcement=True)
    )


def posts_for_home(*, viewer, before=None, since=None, limit=None, as_rows=False) -> FeedPage:
    """My posts, people I follow, my groups, and announcements, newest first.

    The statement is `_home_page_query` compiled once per shape (`feeds.compiled`): the
    same SQL the ORM would write for this viewer, run with this viewer's values.
    `as_rows`: the page's items are `PostRow`s instead of model instances (as for every feed).
    """
    size = _page_size(limit)
    if as_rows:
        rows = _home_rows(viewer, before=before, since=since, size=size, columns=POST_ROW_COLUMNS)
        return _rows_page(rows, since=since, size=size)
    rows = _home_rows(viewer, before=before, since=since, size=size, columns=None)
    return _page_of(rows, viewer=viewer, since=since, size=size)


class PostRow(NamedTuple):
    """What the API shows of a post and its author, as plain values: a feed page read with
    `as_rows`, the same statement reading only these columns, so that no model instances are
    built (nor the reference cycles between them that the garbage collector then walks:
    docs/BENCHMARKS.md, "Home feed")."""

    id: int
    body: str
    body_html: str
    audience: str
    is_announcement: bool
    created: datetime
    edited: datetime | None
    group_slug: str | None
    group_name: str | None
    username: str
    profile_id: int | None  # None: an account made outside Agora, with no profile yet
    display_name: str | None
    job_title: str | None
    agency_id: int | None
    agency_slug: str | None
    agency_name: str | None
    agency_short_name: str | None
    comment_count: int
    reaction_tally: dict[str, int] | None  # {kind: count}
    my_reaction_kinds: str | None  # comma-separated
    attachment_rows: list[dict] | None
    tag_rows: list[dict] | None  # [{id, name}]


# The lookup of each PostRow field on a `_with_details` queryset.
_POST_ROW_LOOKUPS = {
    "id": "pk",
    "group_slug": "group__slug",
    "group_name": "group__name",
    "username": f"author__{get_user_model().USERNAME_FIELD}",
    "profile_id": "author__profile__id",
    "display_name": "author__profile__display_name",
    "job_title": "author__profile__job_title",
    "agency_id": "author__profile__agency_id",
    "agency_slug": "author__profile__agency__slug",
    "agency_name": "author__profile__agency__name",
    "agency_short_name": "author__profile__agency__short_name",
}
POST_ROW_COLUMNS = tuple(_POST_ROW_LOOKUPS.get(name, name) for name in PostRow._fields)


def _rows_page(rows, *, since, size: int) -> FeedPage:
    """The FeedPage of `size + 1` rows of POST_ROW_COLUMNS: its items are `PostRow`s."""
    return _keyset_page(list(map(PostRow._make, rows)), since=since, size=size, id_of=_row_id)


def _row_id(row: PostRow) -> int:
    return row.id


def _home_rows(viewer, *, before, since, size: int, columns: tuple[str, ...] | None) -> list:
    """The home page's `size + 1` posts (or, with `columns`, those columns' values), read by
    its statement compiled for this shape."""
    before_id, since_id = _cursor_ids(before, since)
    if not permissions.is_active_staff(viewer):
        return []
    agency_id = permissions.agency_id_of(viewer)
    values = {"viewer": viewer.pk, "agency": agency_id, "before": before_id, "since": since_id}
    shape = {name: value is not None for name, value in values.items()}
    key = (connection.alias, connection.vendor, size, columns, *sorted(shape.items()))

    def query(viewer, **values) -> QuerySet:
        qs = _home_page_query(viewer, size=size, **values)
        return qs if columns is None else qs.values_list(*columns)

    def build() -> Statement:
        markers = {name: marker(i) for i, name in enumerate(values) if shape[name]}
        stand_in = StandIn(markers["viewer"])
        compiled = query(
            stand_in,
            agency_id=markers.get("agency"),
            before_id=markers.get("before"),
            since_id=markers.get("since"),
        )
        return Statement(compiled, markers)

    try:
        statement = _HOME_STATEMENTS.get(key, build)
    except ShapeError:  # pragma: no cover - the ORM inlined a value: run it as it is
        return list(query(viewer, agency_id=agency_id, before_id=before_id, since_id=since_id))
    return statement.run(values)


_HOME_STATEMENTS = Statements()


def _home_page_query(viewer, *, agency_id, before_id, since_id, size: int) -> QuerySet:
    """The home page's statement for `viewer` (active staff of agency `agency_id`)."""
    visible = permissions.visible_posts(viewer, agency_id=agency_id)
    qs = None
    if connection.vendor == "postgresql":
        newest = _home_newest_per_source(
            visible, viewer, before_id=before_id, since_id=since_id, k=size + 1
        )
        if newest is not None:
            qs = Post.objects.filter(newest)
    if qs is None:
        qs = visible.filter(home_feed_filter(viewer))
    return _page_query(qs, viewer=viewer, before_id=before_id, since_id=since_id, size=size)


def _sql(qs: QuerySet) -> tuple[str, tuple]:
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    return sql, tuple(params)


def _home_newest_per_source(visible, viewer, *, before_id, since_id, k) -> RawSQL | None:
    """`id = ANY(<the ids of a home-feed page>)`, newest per source (PostgreSQL).

    The home feed is the union of a few hundred narrow streams (my posts, each person I follow,
    each group I am in, the announcements), and each has an index that reads it newest first
    ((author, -id), (group, -id), announcements). A single `author IN (...) OR group IN (...)`
    filter leaves PostgreSQL to guess between walking the whole id index backwards and
    gathering every post of every source: either guess is wrong for someone (docs/BENCHMARKS.md,
    "Home feed"). Instead each source gives its own newest visible posts past the cursor
    (LATERAL: one short index scan per source), and the page is the newest `k` of those: in
    two passes for a page backwards (`_bounded_per_source`), in one (`k` of each) for the
    posts newer than a cursor.
    Every branch is `visible` (permissions.visible_posts, compiled by the ORM), so every id is
    one the viewer may see. The ids are an array (`= ANY(ARRAY(...))`), which PostgreSQL
    computes once before it joins the page's authors and groups: as an `IN (...)` semi-join
    the whole statement took longer to plan and to run (docs/BENCHMARKS.md).
    """
    base = visible
    if before_id is not None:
        base = base.filter(pk__lt=before_id)
    if since_id is not None:
        base = base.filter(pk__gt=since_id)
    try:
        follows = _sql(Follow.objects.filter(follower_id=viewer.pk).values("followee_id"))
        groups = _sql(permissions.member_group_ids(viewer))
        if since_id is not None:  # newer posts, oldest first (live updates)
            sql, params = _per_source_union(base, viewer, follows, groups, k)
        else:
            sql, params = _bounded_per_source(base, viewer, follows, groups, k)
    except EmptyResultSet:  # nobody (or nothing) to read: the plain filter says so
        return None
    direction = "ASC" if since_id is not None else "DESC"
    # Constants and ORM-compiled clauses only; every value is a parameter.
    sql = (
        f"{connection.ops.quote_name(Post._meta.db_table)}.id = ANY(ARRAY("  # noqa: S608
        f"SELECT page.id FROM ({sql}) AS page ORDER BY page.id {direction} LIMIT %s))"
    )
    return RawSQL(sql, (*params, k), output_field=BooleanField())  # noqa: S611


def _branches(base, n: int, order: str) -> tuple[tuple[str, tuple], ...]:
    """The newest (or, by `order`, oldest) `n` posts of `base` of one source: a followee (or
    the viewer), a group, the announcements. The first two read the source row `src` of the
    enclosing query (a LATERAL branch)."""

    def newest(qs: QuerySet) -> tuple[str, tuple]:
        return _sql(qs.order_by(order).values("pk")[:n])

    source_author = RawSQL("src.author_id", ())  # noqa: S611
    source_group = RawSQL("src.group_id", ())  # noqa: S611
    return (
        newest(base.filter(author_id=source_author)),
        newest(base.filter(group_id=source_group)),
        newest(base.filter(is_announcement=True)),
    )


def _per_source_union(base, viewer, follows, groups, k: int) -> tuple[str, tuple]:
    """The oldest `k` posts of `base` of each source, as a UNION (no duplicates)."""
    by_author, by_group, announcements = _branches(base, k, "pk")
    sql = (
        f"SELECT p.id FROM (SELECT %s UNION ALL {follows[0]}) AS src(author_id) "  # noqa: S608
        f"CROSS JOIN LATERAL ({by_author[0]}) AS p(id) "
        f"UNION SELECT p.id FROM ({groups[0]}) AS src(group_id) "
        f"CROSS JOIN LATERAL ({by_group[0]}) AS p(id) "
        f"UNION SELECT p.id FROM ({announcements[0]}) AS p(id)"
    )
    params = (viewer.pk, *follows[1], *by_author[1])
    params += (*groups[1], *by_group[1], *announcements[1])
    return sql, params


# The home statement reads this many posts of each source first (`_bounded_per_source`).
FIRST_PER_SOURCE = 3


def _bounded_per_source(base, viewer, follows, groups, k: int) -> tuple[str, tuple]:
    """Ids that hold the newest `k` posts of `base` over every source, read in two passes.

    Reading `k` posts of each of a few hundred sources reads mostly posts that are not on
    the page. So the first pass reads FIRST_PER_SOURCE (m) of each. They are posts of the
    feed, so the k-th newest of them, T, is a lower bound for the page. A source whose first
    pass gave fewer than m posts has given all it has; one whose m-th post is older than T
    has nothing more on the page. Only the others (at most k/m sources) are read again, down
    to T. The page's posts are among what both passes read.
    """
    m = FIRST_PER_SOURCE
    few_author, few_group, few_news = _branches(base, m, "-pk")
    bounded = base.filter(pk__gte=RawSQL("(SELECT bound.id FROM bound)", ()))  # noqa: S611
    more_author, more_group, more_news = _branches(bounded, k, "-pk")
    # Sources whose first m posts are all on or above the bound: they may hold more.
    hot = f"GROUP BY source HAVING count(*) = {m} AND min(id) >= (SELECT id FROM bound)"  # noqa: S608
    sql = (
        "WITH few_author(source, id) AS MATERIALIZED (SELECT src.author_id, p.id "  # noqa: S608
        f"FROM (SELECT %s UNION ALL {follows[0]}) AS src(author_id) "
        f"CROSS JOIN LATERAL ({few_author[0]}) AS p(id)), "
        "few_group(source, id) AS MATERIALIZED (SELECT src.group_id, p.id "
        f"FROM ({groups[0]}) AS src(group_id) CROSS JOIN LATERAL ({few_group[0]}) AS p(id)), "
        f"few_news(id) AS MATERIALIZED ({few_news[0]}), "
        "few(id) AS (SELECT id FROM few_author UNION SELECT id FROM few_group "
        "UNION SELECT id FROM few_news), "
        "bound(id) AS (SELECT COALESCE("
        f"(SELECT id FROM few ORDER BY id DESC OFFSET {int(k) - 1} LIMIT 1), 0)) "
        "SELECT id FROM few "
        f"UNION SELECT p.id FROM (SELECT source FROM few_author {hot}) AS src(author_id) "
        f"CROSS JOIN LATERAL ({more_author[0]}) AS p(id) "
        f"UNION SELECT p.id FROM (SELECT source FROM few_group {hot}) AS src(group_id) "
        f"CROSS JOIN LATERAL ({more_group[0]}) AS p(id) "
        f"UNION SELECT p.id FROM ({more_news[0]}) AS p(id) WHERE (SELECT count(*) = {m} "
        "AND min(id) >= (SELECT bound.id FROM bound) FROM few_news)"
    )
    params = (viewer.pk, *follows[1], *few_author[1], *groups[1], *few_group[1], *few_news[1])
    params += (*more_author[1], *more_group[1], *more_news[1])
    return sql, params


def posts_for_group(
    *, viewer, group: Group, before=None, since=None, limit=None, as_rows=False
) -> FeedPage:
    qs = permissions.visible_posts(viewer).filter(group=group)
    return _page(qs, viewer=viewer, before=before, since=since, limit=limit, as_rows=as_rows)


def posts_for_profile(
    *, viewer, author, before=None, since=None, limit=None, as_rows=False
) -> FeedPage:
    qs = permissions.visible_posts(viewer).filter(author=author)
    return _page(qs, viewer=viewer, before=before, since=since, limit=limit, as_rows=as_rows)


def posts_for_hashtag(
    *, viewer, tag: str, before=None, since=None, limit=None, as_rows=False
) -> FeedPage:
    qs = permissions.visible_posts(viewer).filter(hashtags__name=tag.lower())
    return _page(qs, viewer=viewer, before=before, since=since, limit=limit, as_rows=as_rows)


def post_get(*, viewer, post_id) -> Post | None:
    """The post if `viewer` may see it, else None (the caller answers 404 either way)."""
    try:
        post_id = int(post_id)
    except (TypeError, ValueError):
        return None
    post = _with_details(
        permissions.visible_posts(viewer).filter(pk=post_id), viewer=viewer
    ).first()
    if post is not None:
        decorate_posts([post], viewer=viewer)
    return post


def post_as_written(*, post: Post, viewer) -> Post:
    """The post `viewer` has just written (`actions.create_post`), with what `post_get`
    attaches, without reading it back: a new post has no comments and no reactions, and its
    hashtags and attachments are those create_post wrote (`written_*`)."""
    _as_prefetched(post, "hashtags", list(post.written_hashtags))
    _as_prefetched(post, "attachments", list(post.written_attachments))
    post.comment_count = 0
    post.reaction_counts = [(kind, label, 0, False) for kind, label in _REACTION_KINDS]
    post.reaction_total = 0
    post.can_edit = post.author_id == getattr(viewer, "pk", None)
    return post


def comments_for_post(*, viewer, post: Post) -> list[Comment]:
    """Top-level comments with their replies attached as `.thread_replies`, oldest first."""
    comments = list(
        permissions.visible_comments(viewer)
        .filter(post=post)
        .select_related("author__profile__agency")
        .order_by("id")
    )
    by_parent: dict[int, list[Comment]] = defaultdict(list)
    for comment in comments:
        if comment.parent_id:
            by_parent[comment.parent_id].append(comment)
    top = [c for c in comments if not c.parent_id]
    for comment in top:
        comment.thread_replies = by_parent.get(comment.pk, [])
    return top


def comment_get(*, viewer, comment_id) -> Comment | None:
    try:
        comment_id = int(comment_id)
    except (TypeError, ValueError):
        return None
    return (
        permissions.visible_comments(viewer)
        .select_related("post", "post__group", "author__profile")
        .filter(pk=comment_id)
        .first()
    )


def attachment_get(*, viewer, attachment_id) -> Attachment | None:
    try:
        attachment_id = int(attachment_id)
    except (TypeError, ValueError):
        return None
    return Attachment.objects.filter(
        pk=attachment_id, post__in=permissions.visible_posts(viewer).values("pk")
    ).first()


TRENDING_WINDOW = 500  # trending hashtags count the tags of the newest this-many visible posts


def trending_hashtags(*, viewer, limit: int = 10) -> list[tuple[str, int]]:
    """(name, posts) of the hashtags most used in the newest TRENDING_WINDOW posts `viewer`
    may see, most used first, then by name.

    Compiled once per shape (`feeds.compiled`) like the home feed's statement: on the home
    page, building this queryset and planning its SQL took longer than running it (1.2 ms
    of Python and 2.3 ms of planning against 3 ms of execution on the benchmark's data).
    The statement counts the posts' own hashtag column (`Post.tag_rows`, kept by the
    database) instead of joining the hashtag tables: no index probe per post nor hash of
    every hashtag (about 1 ms less a home page on the benchmark's data, docs/BENCHMARKS.md).
    `_trending_query` is the same answer through the joins, for the rare shape that cannot
    be compiled; a test compares the two for every viewer."""
    if not permissions.is_active_staff(viewer):
        return []
    agency_id = permissions.agency_id_of(viewer)
    values = {"viewer": viewer.pk, "agency": agency_id}
    key = (connection.alias, connection.vendor, limit, agency_id is not None)

    def build() -> Statement:
        markers = {"viewer": marker(0)}
        if agency_id is not None:
            markers["agency"] = marker(1)
        stand_in = StandIn(markers["viewer"])
        newest = _newest_visible(stand_in, markers.get("agency")).values_list("tag_rows")
        return Statement(newest, markers, outer=lambda sql: _tags_counted(sql, limit))

    try:
        statement = _TRENDING_STATEMENTS.get(key, build)
    except ShapeError:  # pragma: no cover - the ORM inlined a value: run it as it is
        return list(_trending_query(viewer, agency_id, limit))
    return statement.run({k: v for k, v in values.items() if v is not None})


def _newest_visible(viewer, agency_id) -> QuerySet[Post]:
    """The newest TRENDING_WINDOW posts `viewer` may see: what trending hashtags count."""
    return permissions.visible_posts(viewer, agency_id=agency_id).order_by("-pk")[:TRENDING_WINDOW]


def _tags_counted(posts_sql: str, limit: int) -> tuple[str, list]:
    """SQL around `posts_sql` (rows of one column, `tag_rows`): each hashtag's name and the
    number of those posts that carry it, most first, then by name; `limit` rows."""
    if connection.vendor == "postgresql":
        tags, name = "jsonb_array_elements(p.tag_rows) AS t", "t.value ->> 'name'"
    else:
        tags, name = "json_each(p.tag_rows) AS t", "json_extract(t.value, '$.name')"
    sql = (  # the ORM's SQL and our own; values are parameters
        f"SELECT {name} AS name, COUNT(*) AS n FROM ({posts_sql}) AS p, {tags} "  # noqa: S608
        "GROUP BY 1 ORDER BY 2 DESC, 1 ASC LIMIT %s"
    )
    return sql, [limit]


def _trending_query(viewer, agency_id, limit: int) -> QuerySet:
    """`trending_hashtags` through the hashtag tables (the ORM's queryset)."""
    newest = _newest_visible(viewer, agency_id).values("pk")
    return (
        Hashtag.objects.filter(posts__in=newest)
        .annotate(n=Count("posts"))
        .order_by("-n", "name")
        .values_list("name", "n")[:limit]
    )


_TRENDING_STATEMENTS = Statements(size=16)


def groups_to_post_in(*, viewer) -> list[Group]:
    """The groups `viewer` may post in (their memberships), by name, for the composer's
    audience list. Compiled once (`feeds.compiled`): the home page asks on every visit, and
    building and planning the query took longer than running it (1.45 ms in all, in-process,
    on the benchmark's data)."""
    if not permissions.is_active_staff(viewer):
        return []

    def build() -> Statement:
        stand_in = StandIn(marker(0))
        return Statement(_groups_to_post_in_query(stand_in), {"viewer": marker(0)})

    try:
        statement = _COMPOSER_STATEMENTS.get((connection.alias, connection.vendor), build)
    except ShapeError:  # pragma: no cover - the ORM inlined a value: run it as it is
        return list(_groups_to_post_in_query(viewer))
    return statement.run({"viewer": viewer.pk})


def _groups_to_post_in_query(viewer) -> QuerySet[Group]:
    return Group.objects.filter(pk__in=permissions.member_group_ids(viewer)).order_by("name", "pk")


_COMPOSER_STATEMENTS = Statements(size=4)


def group_for_post(*, viewer, group_id) -> Group | None:
    """The group a new post names, if `viewer` may know it exists (else None: answer 404)."""
    try:
        group_id = int(group_id)
    except (TypeError, ValueError):
        return None
    return permissions.visible_groups(viewer).filter(pk=group_id).first()


# --- live updates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveState:
    """What one person's sockets listen to, and what their home feed holds.

    `streams` comes from `permissions.live_streams` (what they may read); `follows` and
    `groups` decide which new posts belong on their home feed (consumers check these sets
    per message, without a query).
    """

    user_id: int
    streams: frozenset[str]
    follows: frozenset[int]
    groups: frozenset[int]

    def as_message(self) -> dict:
        return {
            "user": self.user_id,
            "streams": sorted(self.streams),
            "follows": sorted(self.follows),
            "groups": sorted(self.groups),
        }

    @classmethod
    def from_message(cls, data: dict) -> LiveState:
        return cls(
            user_id=data["user"],
            streams=frozenset(data["streams"]),
            follows=frozenset(data["follows"]),
            groups=frozenset(data["groups"]),
        )


def live_state(*, user) -> LiveState:
    """The live state of `user` now; no streams at all unless they are active staff."""
    if not permissions.is_active_staff(user):
        return LiveState(user.pk, frozenset(), frozenset(), frozenset())
    groups = frozenset(permissions.member_group_ids(user).values_list("group_id", flat=True))
    streams = permissions.live_streams(user, group_ids=groups)
    follows = Follow.objects.filter(follower_id=user.pk).values_list("followee_id", flat=True)
    return LiveState(user.pk, streams, frozenset(follows), groups)


def live_state_of(user_id: int) -> LiveState:
    """`live_state` of the person with this id, read now (no streams if they are gone)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return LiveState(user_id, frozenset(), frozenset(), frozenset())
    return live_state(user=user)


def post_for_delivery(*, post_id: int) -> Post | None:
    """A post with what its card needs, for live delivery, deleted or not.

    No viewer: the realtime publisher renders one viewer-neutral card and sends it only to
    `permissions.post_stream(post)`, the stream of exactly those who may see it.
    """
    post = _with_details(Post.objects.filter(pk=post_id)).first()
    if post is not None:
        decorate_posts([post], viewer=None)
    return post


def comment_for_delivery(*, comment_id: int) -> Comment | None:
    """A comment with its post and author, for live delivery (see `post_for_delivery`)."""
    return (
        Comment.objects.select_related("post__group", "author__profile__agency")
        .filter(pk=comment_id)
        .first()
    )


def feed_author(*, viewer, user_id) -> AbstractBaseUser | None:
    """The person whose profile feed `viewer` reads, by id (None: answer 404)."""
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    if not permissions.can_view_profiles(viewer):
        return None
    return get_user_model().objects.filter(pk=user_id).first()
