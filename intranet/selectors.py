"""Read paths for the intranet pages (all staff read them; nobody else)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from wagtail.models import Page, PageViewRestriction
from wagtail.search.query import And, Not, Or, Phrase, PlainText, SearchQuery

import permissions
from feeds.compiled import ShapeError, Statement, Statements
from groups.models import Group

from .models import GUIDELINES_SLUG, AgencyPage, NewsArticle, StandardPage

logger = logging.getLogger(__name__)


def latest_news(*, agency=None, limit: int = 10) -> list[NewsArticle]:
    qs = NewsArticle.objects.live().public().select_related("image", "agency")
    if agency is not None:
        qs = qs.filter(agency=agency)
    return list(qs.order_by("-first_published_at", "-pk")[:limit])


def standard_pages(*, parent: Page) -> QuerySet[StandardPage]:
    return StandardPage.objects.child_of(parent).live().public().order_by("path")


def agency_pages(*, parent: Page) -> QuerySet[AgencyPage]:
    return AgencyPage.objects.child_of(parent).live().public().order_by("title")


def agency_open_groups(*, viewer, page: AgencyPage) -> QuerySet[Group]:
    """The page's groups that are (still) open, through the permission module."""
    return (
        permissions.visible_groups(viewer)
        .filter(kind=Group.Kind.OPEN, pk__in=page.groups.values("pk"))
        .order_by("name")
    )


def guidelines_url() -> str:
    """Where the community guidelines are, found by their stable slug ("" until published).

    One query, as the composer shows it on every home page: the URL comes from the page's
    `url_path` below the site's root page (the intranet home, at depth 2), served under the
    /intranet/ mount, without asking Wagtail's site routing.
    """
    key = (connection.alias, connection.vendor)
    try:
        rows = _GUIDELINES_STATEMENTS.get(key, lambda: Statement(_guidelines_query(), {})).run({})
    except ShapeError:  # pragma: no cover - the ORM inlined a value: run it as it is
        rows = list(_guidelines_query())
    url_path = rows[0][0] if rows else ""
    if not url_path:
        return ""
    below_root = url_path.strip("/").split("/", 1)[1]
    return reverse("wagtail_serve", args=[f"{below_root}/"])


def _guidelines_query() -> QuerySet:
    """The guidelines page's `url_path`, compiled once (`feeds.compiled`): building Wagtail's
    queryset took a millisecond, ten times what running it takes."""
    return (
        StandardPage.objects.live()
        .filter(slug=GUIDELINES_SLUG, depth__gt=2)
        .order_by("depth", "pk")
        .values_list("url_path")[:1]
    )


_GUIDELINES_STATEMENTS = Statements(size=4)


# --- search -----------------------------------------------------------------------------------


@dataclass
class PageResult:
    """One intranet page found by search, shaped like the search page's results."""

    kind: str  # always "page"
    obj: Page
    url: str
    title: str
    snippet: SafeString
    title_snippet: SafeString
    created: datetime | None
    text: str = ""  # the snippet as plain text (the search page marks the words found)


def _snippet(page: Page, words: list[str], length: int = 200) -> str:
    """Plain text from the page, around the first of `words` it contains."""
    texts = []
    for name in ("lead", "body", "about", "intro"):
        value = getattr(page, name, "")
        if value:
            # "> <": a heading and the paragraph after it stay two words apart.
            texts.append(" ".join(strip_tags(str(value).replace("><", "> <")).split()))
    words = [word.lower() for word in words if len(word) > 1]
    for text in texts:
        found = min((i for i in (text.lower().find(w) for w in words) if i >= 0), default=-1)
        if found >= 0:
            start = max(0, found - length // 4)
            prefix = "…" if start else ""
            return prefix + Truncator(text[start:]).chars(length)
    return Truncator(texts[0]).chars(length) if texts else ""


def _wagtail_query(parsed) -> SearchQuery:
    """The search box's tree (search.query) as Wagtail's query objects: clauses OR-ed,
    terms AND-ed, phrases as phrases, -word as NOT (every Wagtail backend we use has them)."""
    clauses = []
    for clause in parsed.clauses:
        terms = []
        for term in clause:
            query = Phrase(term.text) if term.is_phrase else PlainText(term.text)
            terms.append(Not(query) if term.negated else query)
        clauses.append(terms[0] if len(terms) == 1 else And(terms))
    return clauses[0] if len(clauses) == 1 else Or(clauses)


def _restrictions_hiding_from(viewer) -> Q:
    """The sections (a restricted page and everything below it) `viewer` may not read.

    Wagtail's privacy settings: "signed in" lets every member of staff in; "these groups"
    lets in members of one of the groups (and superusers); a shared password is never
    assumed (search has no session in which it was given), so those sections stay hidden.
    """
    hidden = Q()
    group_ids = set(viewer.groups.values_list("pk", flat=True))
    restrictions = PageViewRestriction.objects.select_related("page").prefetch_related("groups")
    for restriction in restrictions:
        kind = restriction.restriction_type
        if kind == PageViewRestriction.LOGIN:
            continue
        if kind == PageViewRestriction.GROUPS and (
            viewer.is_superuser or group_ids & {g.pk for g in restriction.groups.all()}
        ):
            continue
        hidden |= Q(path__startswith=restriction.page.path, depth__gte=restriction.page.depth)
    return hidden


def search_pages(*, viewer, query: str, limit: int = 10) -> list[PageResult]:
    """Live intranet pages matching `query` (the search box's syntax), through Wagtail's
    search backend.

    Staff only (like the pages themselves); pages in a section with Wagtail view
    restrictions the viewer does not pass are left out (see `_restrictions_hiding_from`).
    The backend is the project's (WAGTAILSEARCH_BACKENDS follows SEARCH_BACKEND); if it
    fails, the search page shows the other kinds of results and no pages.
    """
    from search.query import parse

    query = (query or "").strip()
    if not query or not permissions.is_active_staff(viewer):
        return []
    try:
        parsed = parse(query)
    except ValidationError:
        return []
    if parsed.match_all:
        return []
    limit = max(1, min(int(limit), 50))
    qs = Page.objects.live().filter(depth__gt=1)
    hidden = _restrictions_hiding_from(viewer)
    if hidden:
        qs = qs.exclude(hidden)
    try:
        pages = list(qs.specific().search(_wagtail_query(parsed))[:limit])
    except Exception:  # an unreachable Elasticsearch must not break the search page
        logger.exception("Intranet page search failed")
        return []
    words = parsed.positive_words
    results = []
    for page in pages:
        text = _snippet(page, words)
        results.append(
            PageResult(
                kind="page",
                obj=page,
                url=page.get_url() or "",
                title=page.title,
                snippet=SafeString(escape(text)),
                title_snippet=SafeString(escape(page.title)),
                created=page.first_published_at,
                text=text,
            )
        )
    return results
