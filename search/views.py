"""The search page: parse the GET form, ask the selector, render.

Bad input (an unclosed quote, a date that is not one, a group that does not exist or that the
viewer may not know of) is shown next to its field with status 400, never a server error.
"""

from __future__ import annotations

from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

import permissions

from . import selectors
from .forms import SearchForm

staff_required = user_passes_test(permissions.is_active_staff)


@staff_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None, viewer=request.user)
    results = None
    if form.searched:
        results = selectors.search(viewer=request.user, request=form.cleaned_data["request"])
    status = 400 if form.is_bound and form.errors else 200
    links = {}
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
        {"form": form, "results": results, **links},
        status=status,
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
