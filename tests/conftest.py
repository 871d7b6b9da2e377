"""Fixtures shared by every test.

The database is whatever DATABASE_URL names (SQLite by default, PostgreSQL in CI's second
run); tests marked `integration` need real services and must not skip when CI=true.
"""

import os

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, AgencyFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files go to a per-test folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Factories set a password for every user; a cheap hasher keeps large worlds quick.

    (The browser tests' server runs with the real hashers.)
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def agency():
    return AgencyFactory()


@pytest.fixture
def user(agency):
    return UserFactory(profile__agency=agency)


@pytest.fixture
def other_user(agency):
    return UserFactory(profile__agency=agency)


@pytest.fixture
def outsider():
    """Someone from another agency."""
    return UserFactory()


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def web(client, user):
    """A browser session signed in as `user`."""
    client.force_login(user)
    return client


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def skip_or_fail(reason: str):
    """Skip locally when a service is missing; under CI a missing service is a failure."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)
