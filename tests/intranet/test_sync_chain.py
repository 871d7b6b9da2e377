"""intranet/sync_chain.py: a request's middleware and view run in one synchronous call, and
never call back into the event loop (which hung the server on SIGTERM:
tests/realtime/test_shutdown.py)."""

import asyncio

import pytest
from asgiref import sync
from django.core.handlers.asgi import ASGIHandler

from intranet.asgi import application
from intranet.sync_chain import SyncChainASGIHandler

from .test_request_threads import _get


class _Crossings:
    """Counts asgiref's crossings between the event loop and threads while it is entered."""

    def __init__(self, monkeypatch):
        self.to_thread = 0
        self.to_loop = 0
        to_thread, to_loop = sync.SyncToAsync.__call__, sync.AsyncToSync.__call__

        async def counted_to_thread(adapter, *args, **kwargs):
            self.to_thread += 1
            return await to_thread(adapter, *args, **kwargs)

        def counted_to_loop(adapter, *args, **kwargs):
            self.to_loop += 1
            return to_loop(adapter, *args, **kwargs)

        monkeypatch.setattr(sync.SyncToAsync, "__call__", counted_to_thread)
        monkeypatch.setattr(sync.AsyncToSync, "__call__", counted_to_loop)


def test_the_project_serves_http_with_the_one_call_handler():
    handler = application.application_mapping["http"].app
    assert isinstance(handler, SyncChainASGIHandler)
    assert isinstance(handler, ASGIHandler)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/accounts/login/", 200),  # a page: sessions, CSRF, messages, the profile's language
        ("/api/search/", 401),  # the API without credentials
        ("/no-such-page/", 404),  # an error response, logged
    ],
)
def test_a_request_crosses_to_its_thread_three_times_and_never_back(monkeypatch, path, status):
    """The request_started signal, the middleware chain with the view, and the response's
    closing: one crossing each. Django's own handler crossed about ten times for our
    middleware, once back into the event loop."""
    asyncio.run(_get("/accounts/login/"))  # anything loaded on a first request, loaded
    crossings = _Crossings(monkeypatch)
    assert asyncio.run(_get(path)) == status
    assert crossings.to_loop == 0
    assert crossings.to_thread == 3
