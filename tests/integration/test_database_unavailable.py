"""intranet.middleware: a database that does not answer gives 503 + Retry-After, not a 500.

These run in-process on whatever database the suite uses; the real outage (PostgreSQL
stopped under a running server) is tests/integration/test_faults.py.
"""

from __future__ import annotations

import sqlite3

import pytest
from django.db import InterfaceError, OperationalError

from intranet.middleware import database_unavailable

pytestmark = pytest.mark.django_db


def failing(exc):
    def raise_it(*args, **kwargs):
        raise exc

    return raise_it


def outage() -> OperationalError:
    error = OperationalError("connection failed: the database system is shutting down")
    error.__cause__ = ConnectionError("refused")
    return error


def test_a_view_that_cannot_reach_the_database_answers_503_json(api, monkeypatch):
    from feeds import selectors

    monkeypatch.setattr(selectors, "posts_for_home", failing(outage()))
    response = api.get("/api/feed/home/")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_a_page_that_cannot_reach_the_database_answers_503_html(web, monkeypatch):
    from feeds import selectors

    monkeypatch.setattr(selectors, "posts_for_home", failing(InterfaceError("closed")))
    response = web.get("/")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    html = response.content.decode()
    assert "Back in a moment" in html and 'role="status"' in html
    assert "Traceback" not in html


def test_a_middleware_that_cannot_reach_the_database_answers_503(web, monkeypatch):
    """The failure happens before the view (reading the person's profile): Django turns it
    into a 500 inside that middleware; ours turns it into the 503."""
    from profiles import middleware

    monkeypatch.setattr(middleware, "ensure_profile", failing(outage()))
    web.raise_request_exception = False
    response = web.get("/")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert "Back in a moment" in response.content.decode()


def test_other_errors_stay_server_errors(api, monkeypatch):
    from feeds import selectors

    monkeypatch.setattr(selectors, "posts_for_home", failing(RuntimeError("a bug")))
    api.raise_request_exception = False
    assert api.get("/api/feed/home/").status_code == 500


def test_sqlite_bugs_are_not_outages():
    bug = OperationalError("no such table: feeds_post")
    bug.__cause__ = sqlite3.OperationalError("no such table: feeds_post")
    locked = OperationalError("database is locked")
    locked.__cause__ = sqlite3.OperationalError("database is locked")
    assert not database_unavailable(bug)
    assert database_unavailable(locked)
    assert database_unavailable(outage())
    assert not database_unavailable(ValueError("nope"))
