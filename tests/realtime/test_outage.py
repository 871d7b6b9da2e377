"""Redis goes away while people post: nothing is lost, and live delivery comes back.

A daphne process runs against a redis-server of our own (on a spare port), which the test
stops and starts. While it is down, posting through the API still answers 201 and the posts
are saved; the failure is logged once, not per post. When Redis is back, the open socket is
told to catch up, a socket that reconnects reads `since=<cursor>` and finds every post, and
new posts are delivered live again.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest

from tests.conftest import skip_or_fail

from .conftest import LIVE_PASSWORD
from .server import Browserless, Daphne, OutboxWorker, Redis, free_port
from .test_server import HERE, closed_by_server, open_socket, receive

pytestmark = pytest.mark.integration

RECOVERY = 20.0  # seconds: the hub retries with backoff up to 10 s between attempts


@pytest.fixture
def redis_we_control(server_database):
    try:
        redis = Redis(server_database.workdir)
    except FileNotFoundError:
        skip_or_fail("redis-server is not installed (apt-get install redis-server)")
    yield redis
    redis.stop()


@pytest.fixture
def server_on_our_redis(server_database, redis_we_control):
    server = Daphne(server_database, redis_url=redis_we_control.url, name="outage")
    server.world = server_database.world
    yield server
    server.stop()


async def next_sync(socket, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(
            await asyncio.wait_for(socket.recv(), max(0.01, deadline - time.monotonic()))
        )
        if message == {"kind": "sync"}:
            return


def test_posting_survives_a_redis_outage_and_pages_catch_up(
    server_on_our_redis, redis_we_control, websockets_client
):
    server = server_on_our_redis
    ana = Browserless(server.base, "ana", LIVE_PASSWORD)
    bob = Browserless(server.base, "bob", LIVE_PASSWORD)

    async def body():
        socket = await open_socket(websockets_client, server, bob)
        first = await asyncio.to_thread(ana.post, "Before the outage", group="budget")
        event = await receive(socket)
        assert event["id"] == first
        cursor = event["cursor"]

        redis_we_control.stop()
        during = [  # one after the other, as people would
            await asyncio.to_thread(ana.post, f"During the outage {n}", group="budget")
            for n in range(3)
        ]
        for post_id in during:
            status, data = await asyncio.to_thread(ana.api, "GET", f"/api/posts/{post_id}/")
            assert status == 200 and data["body"].startswith("During the outage")

        redis_we_control.start()
        await next_sync(socket, RECOVERY)  # the open page is told to catch up
        await socket.close()

        socket = await open_socket(websockets_client, server, bob)  # a page that reconnects
        status, html = await asyncio.to_thread(bob.get, f"/live/feed/?feed=home&since={cursor}")
        assert status == 200
        caught_up = {
            int(n) for n in re.findall(r'<article class="post-card[^"]*" id="post-(\d+)"', html)
        }
        assert caught_up == set(during)

        after = await asyncio.to_thread(ana.post, "After the outage", group="budget")
        assert (await receive(socket, RECOVERY))["id"] == after
        await socket.close()

    asyncio.run(body())
    log = server.log()
    assert log.count("Live updates are not being delivered") == 1, log
    assert "Traceback" not in log, log


def test_a_deactivation_whose_message_was_lost_reaches_the_socket_through_the_worker(
    server_on_our_redis, websockets_client
):
    """A process of its own (a directory sync, say) deactivates Fern while it cannot reach
    Redis, and ends. The server's Redis never went away, so no page is told to catch up, and
    the message that closes Fern's sockets is lost. The outbox worker, which reaches Redis,
    sends her state again: her open socket is closed with 4403."""
    server = server_on_our_redis
    server.script(HERE / "new_person.py", "fern")
    fern = Browserless(server.base, "fern", LIVE_PASSWORD)
    worker = OutboxWorker(server)
    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there

    async def body():
        socket = await open_socket(websockets_client, server, fern)
        said = await asyncio.to_thread(
            server.script, HERE / "deactivate.py", "fern", REDIS_URL=unreachable
        )
        assert "Live updates are not being delivered" in said, said  # its publish failed
        await closed_by_server(
            socket,
            4403,
            RECOVERY,
            lambda: (
                f"Fern was deactivated. The worker's log:\n{worker.log()}\nThe server's "
                f"log ends with:\n{server.log_tail()}"
            ),
        )

    try:
        asyncio.run(body())
    finally:
        worker.stop()
