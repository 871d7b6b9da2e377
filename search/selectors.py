"""Read path of search: ask the backend, fall back, re-check, hydrate.

`search(viewer=..., request=...)` asks the primary backend (the database, or Elasticsearch).
If Elasticsearch cannot be reached, the database backend answers and the page says so.
Whatever answered, the ids of the page are checked once more through the permission module
(`visible_posts`, `visible_comments`, `visible_groups`, active staff for people) before
anything is shown: an index is never trusted for access (STYLE.md rule 8). The posts' and
comments' re-check is `search.recheck`'s statement; the database backend may have run it
already, inside its own statement, for some of the page (`SearchPage.checked`, for this
viewer): those hits are not asked again.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

import permissions
from feeds.models import Post
from groups.models import Group
from intranet.paths import url_maker
from profiles.models import Profile

from . import backends, recheck, snippets
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
from .backends.database import permission_scope
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
    checked = page.checked if isinstance(page.checked, recheck.CheckedRows) else None
    if checked is not None and checked.viewer is viewer:  # re-checked with the walk
        posts, comments = dict(checked.posts), list(checked.comments)
        hits_left = [h for h in hits if (h.kind, h.object_id) not in checked.covered]
    else:
        hits_left = hits
    post_ids, comment_ids = _ids(hits_left, Kind.POST), _ids(hits_left, Kind.COMMENT)
    if post_ids or comment_ids:
        more_posts, more_comments = recheck.page_rows(viewer, post_ids, comment_ids)
        posts.update(more_posts)
        comments += more_comments
    by_id = {(h.kind, h.object_id): h for h in hits}
    post_url = url_maker("feeds:post") if posts else None
    wording = _Wording.now() if posts else None
    for post_id in _ids(hits, Kind.POST):
        if post_id in posts:
            found[(Kind.POST, post_id)] = _post_result(
                by_id[(Kind.POST, post_id)], posts[post_id], post_url, wording
            )
    for row in comments:
        post = posts.get(row["post_id"])
        hit = by_id.get((Kind.COMMENT, row["pk"]))  # (a walk re-checks a row past the page)
        if post is not None and hit is not None:
            found[(Kind.COMMENT, row["pk"])] = _comment_result(hit, row, post, post_url, wording)
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


@dataclass(frozen=True)
class _Wording:
    """The titles' translated formats, looked up once for a page: each gettext call reads
    the active language again (about 4 µs, for every result)."""

    in_place: str
    commented: str

    @classmethod
    def now(cls) -> _Wording:
        return cls(
            in_place=_("%(author)s in %(place)s"),
            commented=_("%(author)s commented on a post by %(post_author)s"),
        )


def _make(hit: Hit, *, kind, pk, url, title, body, created) -> Result:
    """`body`: the text shown, shortened, when the backend gave no snippet."""
    text = hit.snippet or snippets.shorten(body)
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


def _post_result(hit: Hit, row: dict, post_url: Callable[[int], str], wording: _Wording) -> Result:
    place = row["group__name"] or (
        row["agency__name"] if row["audience"] == Post.Audience.AGENCY else ""
    )
    author = _name(row)
    title = wording.in_place % {"author": author, "place": place} if place else author
    return _make(
        hit,
        kind=Kind.POST,
        pk=row["pk"],
        url=post_url(row["pk"]),
        title=title,
        body=row["body"],
        created=row["created"],
    )


def _comment_result(
    hit: Hit, row: dict, post: dict, post_url: Callable[[int], str], wording: _Wording
) -> Result:
    title = wording.commented % {"author": _name(row), "post_author": _name(post)}
    return _make(
        hit,
        kind=Kind.COMMENT,
        pk=row["pk"],
        url=post_url(row["post_id"]) + f"#comment-{row['pk']}",
        title=title,
        body=row["body"],
        created=row["created"],
    )


def _group_result(hit: Hit, group: Group) -> Result:
    return _make(
        hit,
        kind=Kind.GROUP,
        pk=group.pk,
        url=group.get_absolute_url(),
        title=group.name,
        body=group.description,
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
