"""A little HTTP and websocket load for the fault and soak tests.

`call` sends one request through a signed-in person's session (tests.realtime.server's
Browserless) and never raises: a refused connection is status 0. `Paced` runs a step at a
steady pace in a background thread and keeps every answer with its time. `Listener` reads a
real websocket in the background and keeps what arrives.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tests.realtime.server import Browserless


def run_async(main):
    """asyncio.run(main()) on a thread of its own: this thread may already run an event loop
    (Playwright's sync API, used by the browser tests in the same pytest worker, keeps one)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="async-test") as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


@dataclass
class Answer:
    kind: str
    method: str
    path: str
    started: float  # time.monotonic()
    finished: float
    status: int
    headers: dict = field(default_factory=dict)
    text: str = ""

    @property
    def latency(self) -> float:
        return self.finished - self.started

    def json(self) -> dict:
        try:
            return json.loads(self.text or "{}")
        except ValueError:
            return {}


def call(
    person: Browserless,
    method: str,
    path: str,
    body: dict | None = None,
    *,
    kind: str = "",
    timeout: float = 30,
    started: float | None = None,
) -> Answer:
    """One request in `person`'s session (JSON body and CSRF header for writes)."""
    headers = {"Referer": f"{person.base}/"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if method not in ("GET", "HEAD"):
        headers["X-CSRFToken"] = person.cookies.get("csrftoken", "")
    request = urllib.request.Request(
        f"{person.base}{path}", data=data, method=method, headers=headers
    )
    started = time.monotonic() if started is None else started
    try:
        with person.opener.open(request, timeout=timeout) as response:
            status, head, text = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, head, text = error.code, dict(error.headers), error.read()
    except OSError as error:  # refused, reset, timed out: the server did not answer
        status, head, text = 0, {}, repr(error).encode()
    return Answer(
        kind=kind or f"{method} {path}",
        method=method,
        path=path,
        started=started,
        finished=time.monotonic(),
        status=status,
        headers=head,
        text=text.decode(errors="replace"),
    )


class Paced(threading.Thread):
    """Calls `step(n)` (which returns an Answer) every `interval` seconds until stopped."""

    def __init__(self, step, interval: float, name: str = "paced"):
        super().__init__(name=name, daemon=True)
        self.step = step
        self.interval = interval
        self.answers: list[Answer] = []
        self._halt = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        n = 0
        next_at = time.monotonic()
        try:
            while not self._halt.is_set():
                self.answers.append(self.step(n))
                n += 1
                next_at += self.interval
                self._halt.wait(max(0.0, next_at - time.monotonic()))
        except BaseException as exc:  # noqa: BLE001 (reported by stop())
            self.error = exc

    def stop(self) -> list[Answer]:
        self._halt.set()
        self.join(timeout=60)
        if self.error is not None:
            raise self.error
        return self.answers


async def open_socket(websockets, server, person: Browserless, feed: str = "home"):
    """A real websocket to the server, signed in with `person`'s session cookie, ready."""
    socket = await websockets.connect(
        f"{server.ws}?feed={feed}",
        additional_headers={"Cookie": person.cookie_header},
        origin=server.base,
        compression=None,
        open_timeout=10,
    )
    first = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert first == {"kind": "ready"}, first
    return socket


class Listener:
    """Reads one websocket in the background: every message with its arrival time."""

    def __init__(self, socket):
        self.socket = socket
        self.messages: list[tuple[float, dict]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                self.messages.append((time.monotonic(), json.loads(raw)))
        except Exception:  # noqa: BLE001 (the socket closed: what arrived is kept)
            return

    def post_ids(self, since: float = 0.0) -> set[int]:
        return {
            m["id"]
            for at, m in self.messages
            if at >= since and m.get("kind") == "post" and m.get("op") == "add"
        }

    def synced(self, since: float = 0.0) -> bool:
        return any(at >= since and m == {"kind": "sync"} for at, m in self.messages)

    async def wait_for(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"websocket: timed out after {timeout:.0f} s: {what}")
            if self.task.done():
                raise AssertionError(f"websocket closed while waiting for {what}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.socket.close()
        await asyncio.wait_for(self.task, 10)


def catch_up(person: Browserless, cursor: str) -> list[int]:
    """What a page that reconnects reads: the home feed newer than `cursor`, every page."""
    ids: list[int] = []
    while True:
        answer = call(person, "GET", f"/api/feed/home/?since={cursor}&limit=100")
        assert answer.status == 200, (answer.status, answer.text[:500])
        data = answer.json()
        ids += [post["id"] for post in data["results"]]
        if not data.get("has_more") or not data.get("newest"):
            return ids
        cursor = data["newest"]
