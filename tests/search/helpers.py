"""Small helpers for the search tests."""

from __future__ import annotations

import pytest
from django.db import connection

from search import query, selectors
from search.backends.base import SORT_NEWEST, SearchRequest


def only_on(vendor: str, reason: str) -> list:
    """`pytestmark` of a module that tests one database's own code (its plans, its tables):
    database access, and skipped on the other database, saying why."""
    return [pytest.mark.django_db, pytest.mark.skipif(connection.vendor != vendor, reason=reason)]


def request(text: str = "", **options) -> SearchRequest:
    options.setdefault("sort", SORT_NEWEST)
    return SearchRequest(query=query.parse(text), **options)


def search(viewer, text: str = "", **options) -> selectors.Results:
    return selectors.search(viewer=viewer, request=request(text, **options))


def found(viewer, text: str = "", **options) -> set[tuple[str, int]]:
    """(kind, id) of everything the viewer's search shows: the page and the side lists."""
    results = search(viewer, text, **options)
    every = [*results.results, *results.people, *results.groups]
    return {(r.kind, r.pk) for r in every}


def post_ids(viewer, text: str = "", **options) -> set[int]:
    return {pk for kind, pk in found(viewer, text, **options) if kind == "post"}
