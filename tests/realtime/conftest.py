"""Fixtures for the live-updates tests.

Consumer tests (test_consumers.py, test_publisher.py) run on the in-memory channel layer with
Channels' WebsocketCommunicator. The integration tests (test_server.py, test_outage.py) start
a real daphne process and connect real websocket clients: see tests/realtime/server.py.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from feeds import realtime
from feeds.consumers import LiveConsumer

IN_MEMORY = {
    "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}
}


@pytest.fixture
def in_memory_layer(settings):
    """Consumer tests run on the in-memory layer, whatever REDIS_URL says."""
    settings.CHANNEL_LAYERS = IN_MEMORY
    realtime.reset_outage()
    yield
    realtime.reset_outage()


def run(fn, *args, **kwargs):
    """Run an async test body to completion on a fresh event loop."""
    return async_to_sync(fn)(*args, **kwargs)


async def open_socket(user, feed: str = "home", lang: str = "en") -> WebsocketCommunicator:
    """A live socket signed in as `user`, connected and ready."""
    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), f"/ws/?feed={feed}&lang={lang}")
    communicator.scope["user"] = user
    connected, _code = await communicator.connect(timeout=3)
    assert connected, f"{user} was refused"
    assert await communicator.receive_json_from(timeout=3) == {"kind": "ready"}
    return communicator


# What other features send on the same socket (the bell's count): not under test here.
OTHER_KINDS = {"notifications"}


async def next_event(communicator: WebsocketCommunicator, *, skip_sync: bool = True) -> dict:
    """The next message within a bounded wait (3 s), skipping "sync" hints by default (and
    other features' messages, like the bell's count, always)."""
    while True:
        message = await communicator.receive_json_from(timeout=3)
        if message.get("kind") in OTHER_KINDS:
            continue
        if not (skip_sync and message == {"kind": "sync"}):
            return message


async def nothing_for(communicator: WebsocketCommunicator, seconds: float = 0.3) -> bool:
    """True if the socket gets no event (call it after a socket that should receive did)."""
    while not await communicator.receive_nothing(timeout=seconds):
        message = await communicator.receive_json_from(timeout=1)
        if message.get("kind") not in OTHER_KINDS:
            raise AssertionError(f"expected nothing, got {message}")
    return True


# --- a real server ----------------------------------------------------------------------------

LIVE_PASSWORD = "live correct horse battery"


@pytest.fixture(scope="session")
def server_database(tmp_path_factory):
    """A migrated server database holding the world of tests/realtime/make_world.py."""
    import json
    from pathlib import Path

    from .server import ServerDatabase

    database = ServerDatabase(tmp_path_factory.mktemp("live"))
    database.env["LIVE_PASSWORD"] = LIVE_PASSWORD
    output = database.script(Path(__file__).with_name("make_world.py"))
    database.world = json.loads(output.strip().splitlines()[-1])
    yield database
    database.drop()


@pytest.fixture(scope="session")
def redis_url():
    """REDIS_URL when set (CI's second run: checked reachable), else None: in-memory layer."""
    import os

    from tests.conftest import skip_or_fail

    url = os.environ.get("REDIS_URL") or None
    if url:
        import redis

        try:
            redis.Redis.from_url(url, socket_timeout=2).ping()
        except Exception as exc:  # noqa: BLE001
            skip_or_fail(f"Redis at {url} is unreachable: {exc}")
    return url


@pytest.fixture(scope="session")
def daphne_server(server_database, redis_url):
    """daphne serving intranet.asgi on the server database, with Redis when REDIS_URL is set."""
    from .server import Daphne

    server = Daphne(server_database, redis_url=redis_url)
    server.world = server_database.world
    yield server
    server.stop()


@pytest.fixture
def websockets_client():
    """The `websockets` library (a test dependency)."""
    try:
        import websockets
    except ImportError:
        from tests.conftest import skip_or_fail

        skip_or_fail("the websockets library is not installed (pip install -e .[test])")
    return websockets
