"""The search page: parse the GET form, ask the selector, render.

Bad input (an unclosed quote, a date that is not one, a group that does not exist or that the
viewer may not know of) is shown next to its field with status 400, never a server error.

Intranet pages come from `search.sources` (settings.SEARCH_EXTRA_SOURCES), not from the
index: with kind=page they are the results (up to PAGES_LIMIT, no further pages); with every
kind, the first page of a search by words alone (no filter: pages have no author, group,
agency, hashtag or date one would filter by) lists the best few beside people and groups.
"""

from __future__ import annotations

from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

import permissions

from . import selectors, sources
from .forms import SearchForm

PAGES_LIMIT = 30  # kind=page: the intranet is small; beyond this, more words narrow it
PAGES_SIDE = 3  # every kind: the few best pages beside people and groups
FILTERS = ("agency", "group", "author", "hashtag", "date_from", "date_to")

staff_required = user_passes_test(permissions.is_active_staff)


@staff_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None, viewer=request.user)
    results = None
    pages: list[sources.ExtraResult] | None = None
    links: dict = {}
    if form.pages_only:
        pages = _pages(request, form, limit=PAGES_LIMIT + 1)
        links["pages_capped"] = len(pages) > PAGES_LIMIT
        pages = pages[:PAGES_LIMIT]
        links["pages_filters_ignored"] = any(form.cleaned_data.get(name) for name in FILTERS)
    elif form.searched:
        data = form.cleaned_data
        results = selectors.search(viewer=request.user, request=data["request"])
        if not data.get("kind") and not data.get("cursor") and not any(map(data.get, FILTERS)):
            found = _pages(request, form, limit=PAGES_SIDE + 1)
            if len(found) > PAGES_SIDE:
                links["pages_url"] = _with(request, kind=sources.PAGE_KIND, cursor=None)
            pages = found[:PAGES_SIDE]
        links["total"] = results.total + len(pages or [])
        links["total_capped"] = results.capped or "pages_url" in links
    status = 400 if form.is_bound and form.errors else 200
    if results is not None:
        if results.next_cursor:
            links["more_url"] = _with(request, cursor=results.next_cursor)
        if results.people:
            links["people_url"] = _with(request, kind="person", cursor=None)
        if results.groups:
            links["groups_url"] = _with(request, kind="group", cursor=None)
    return render(
        request,
        "search/search.html",
        {"form": form, "results": results, "pages": pages, **links},
        status=status,
    )


def _pages(request: HttpRequest, form: SearchForm, *, limit: int) -> list:
    parsed = form.cleaned_data.get("q")
    if parsed is None or parsed.match_all:
        return []
    return sources.search_extra(
        viewer=request.user,
        query=form.data.get("q", ""),
        words=parsed.positive_words,
        limit=limit,
    )


def _with(request: HttpRequest, **changes) -> str:
    """This page's URL with some parameters changed (None removes one)."""
    query = request.GET.copy()
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return f"{request.path}?{query.urlencode()}"
