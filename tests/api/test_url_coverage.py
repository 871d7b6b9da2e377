"""The URL-coverage gate: every API operation has a happy-path test and a wrong-user test.

Operations are read from every URL pattern under /api/, whichever urlconf declares it (each
pattern's view class and the HTTP methods it implements). Tests declare what they exercise
with the markers described in conftest.py, and conftest checks during each test that the
declared calls were really made. The markers are collected from the test modules themselves,
so the gate holds under `-k` and pytest-xdist.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from django.urls import URLResolver, get_resolver

from .conftest import declared

IGNORED_METHODS = {"options", "head"}
API_PREFIX = "api/"


def operation_name(match_or_pattern_name: str) -> str:
    """The name tests use: the url name inside the `api` namespace, else the full name."""
    return match_or_pattern_name.removeprefix("api:")


def _api_patterns(resolver=None, prefix="", namespace=""):
    """(route, view name, pattern) of every URL pattern under /api/, whichever urlconf."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            if API_PREFIX.startswith(route) or route.startswith(API_PREFIX):
                yield from _api_patterns(entry, route, inner)
        elif route.startswith(API_PREFIX):
            yield route, f"{namespace}{entry.name}", entry


def api_operations() -> set[tuple[str, str]]:
    """(operation name, METHOD) for every operation served under /api/."""
    operations = set()
    for route, view_name, pattern in _api_patterns():
        assert pattern.name, f"/{route} has no url name: name it so tests can declare it"
        view_class = getattr(pattern.callback, "cls", None) or getattr(
            pattern.callback, "view_class", None
        )
        assert view_class is not None, f"/{route}: API endpoints are class-based views"
        for method in view_class.http_method_names:
            if method not in IGNORED_METHODS and hasattr(view_class, method):
                operations.add((operation_name(view_name), method.upper()))
    return operations


def api_patterns_by_name() -> dict:
    """Operation name -> (view name to reverse, URL pattern)."""
    return {operation_name(name): (name, pattern) for _route, name, pattern in _api_patterns()}


def declared_operations() -> tuple[set, set]:
    happy, wrong = set(), set()
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        module = importlib.import_module(f"{__package__}.{path.stem}")
        for _name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__:
                continue
            test_happy, test_wrong = declared(getattr(function, "pytestmark", []))
            happy |= test_happy
            wrong |= test_wrong
    return happy, wrong


def test_every_api_operation_has_a_happy_path_test():
    happy, _wrong = declared_operations()
    missing = sorted(api_operations() - happy)
    assert not missing, f"API operations without an api_endpoint test: {missing}"


def test_every_api_operation_has_a_wrong_user_test():
    _happy, wrong = declared_operations()
    missing = sorted(api_operations() - wrong)
    assert not missing, f"API operations without an api_wrong_user test: {missing}"


def test_markers_name_real_operations():
    """A typo in a marker must not pass for coverage."""
    happy, wrong = declared_operations()
    unknown = sorted((happy | wrong) - api_operations())
    assert not unknown, f"markers naming no API operation: {unknown}"


def test_the_gate_sees_every_operation():
    """Sanity check of the walk itself: the API has well over thirty operations."""
    operations = api_operations()
    assert ("post-detail", "PATCH") in operations
    assert ("schema", "GET") in operations
    assert ("api-search", "GET") in operations  # declared outside the API urlconf
    assert len(operations) > 30
