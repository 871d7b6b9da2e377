"""Helpers for the API tests, and the bookkeeping of the URL-coverage gate.

Every test names the API operations it exercises, by url name and method:

    @pytest.mark.api_endpoint("post-detail", "GET")     a happy path: needs a 2xx answer
    @pytest.mark.api_wrong_user("post-detail", "GET")   the wrong user: refused, or shown nothing

While the test runs every APIClient answer is recorded; a test that names an operation it never
called (or, for `api_endpoint`, never got a 2xx from) fails. `test_url_coverage.py` reads the
markers of every test module and fails when an operation under /api/ has no test of each kind.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from groups.models import Group, Membership
from tests.factories import GroupFactory, MembershipFactory, UserFactory

ENDPOINT = "api_endpoint"
WRONG_USER = "api_wrong_user"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{ENDPOINT}(name, *methods): the test exercises this API operation"
    )
    config.addinivalue_line(
        "markers", f"{WRONG_USER}(name, *methods): the test calls it as the wrong user"
    )


def declared(marks) -> tuple[set, set]:
    """The (url name, METHOD) pairs a test's markers declare, happy and wrong-user."""
    happy, wrong = set(), set()
    for mark in marks:
        if mark.name in (ENDPOINT, WRONG_USER):
            name, *methods = mark.args
            target = happy if mark.name == ENDPOINT else wrong
            target.update((name, method.upper()) for method in methods)
    return happy, wrong


@pytest.fixture(autouse=True)
def _api_calls(request, monkeypatch):
    """Record each API answer of the test, then check the test's markers against them."""
    calls: list[tuple[str, str, int]] = []
    original = APIClient.request

    def recording_request(self, **kwargs):
        response = original(self, **kwargs)
        match = response.resolver_match
        if match is not None and match.route.startswith("api/"):
            name = match.view_name.removeprefix("api:")
            calls.append((name, kwargs["REQUEST_METHOD"].upper(), response.status_code))
        return response

    monkeypatch.setattr(APIClient, "request", recording_request)
    yield calls
    happy, wrong = declared(request.node.iter_markers())
    for name, method in sorted(happy):
        if not any(c[:2] == (name, method) and 200 <= c[2] < 300 for c in calls):
            pytest.fail(f"{ENDPOINT}({name!r}, {method!r}) declared, but no 2xx answer seen")
    for name, method in sorted(wrong):
        if not any(c[:2] == (name, method) for c in calls):
            pytest.fail(f"{WRONG_USER}({name!r}, {method!r}) declared, but never called")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Factories hash a password per user; the production hasher is slow by design."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client_for():
    """An API client signed in as `user` (None: anonymous)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def owner(agency):
    return UserFactory(profile__agency=agency)


def make_group(kind: str, *, owner, members=()) -> Group:
    group = GroupFactory(kind=kind)
    MembershipFactory(group=group, user=owner, role=Membership.Role.OWNER)
    for member in members:
        MembershipFactory(group=group, user=member)
    return group


@pytest.fixture
def open_group(owner):
    return make_group(Group.Kind.OPEN, owner=owner)


@pytest.fixture
def private_group(owner):
    return make_group(Group.Kind.PRIVATE, owner=owner)


@pytest.fixture
def secret_group(owner):
    return make_group(Group.Kind.SECRET, owner=owner)
