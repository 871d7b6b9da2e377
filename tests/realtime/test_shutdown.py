"""A real daphne process serving intranet.asgi stops on SIGTERM while requests are in flight.

With Django's own ASGI handler our middleware chain called back into the event loop from the
request's thread (`async_to_sync`); once SIGTERM stopped the loop, a request caught there
waited for ever, and so did the interpreter's exit, which joins the request threads: the
server never stopped (`docker compose stop` had to kill it). intranet/sync_chain.py runs the
chain in one synchronous call, so a request thread finishes its request and the process ends.
"""

from __future__ import annotations

import http.client
import signal
import subprocess
import threading
import time

import pytest

from .server import Daphne

pytestmark = pytest.mark.integration

CLIENTS = 8
EXIT_WAIT = 30  # seconds: a server that stops does so in about two; a hung one never does


def _keep_asking(port: int, stop: threading.Event, answered: list[int]) -> None:
    """GET a page (the whole middleware chain) over one connection, again and again."""
    while not stop.is_set():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            while not stop.is_set():
                connection.request("GET", "/accounts/login/")
                response = connection.getresponse()
                response.read()
                answered.append(response.status)
        except (OSError, http.client.HTTPException):
            time.sleep(0.05)  # the server is going away
        finally:
            connection.close()


def test_daphne_stops_on_sigterm_with_requests_in_flight(server_database):
    server = Daphne(server_database, redis_url=None, name="shutdown")
    stop, answered = threading.Event(), []
    clients = [
        threading.Thread(target=_keep_asking, args=(server.port, stop, answered), daemon=True)
        for _ in range(CLIENTS)
    ]
    try:
        for client in clients:
            client.start()
        while len(answered) < 20 * CLIENTS and server.process.poll() is None:
            time.sleep(0.05)
        assert set(answered) == {200}, server.log_tail()
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=EXIT_WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"daphne still running {EXIT_WAIT} s after SIGTERM\n{server.log_tail()}")
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=10)
        server.stop()
    assert "Traceback" not in server.log(), server.log_tail()
