"""HTTP requests run their synchronous code on threads kept from earlier requests.

Django's ASGI handler runs a request's synchronous parts (middleware, view, the request
signals) on a thread of the request's own: asgiref's `ThreadSensitiveContext` makes a
one-thread executor per request, whose thread starts with the request's first synchronous
call and is stopped, by one more new thread that joins it, once the request is over. Those
two threads cost every request 0.7-0.9 ms over HTTP on the benchmark machine, hello world and
a search alike (docs/BENCHMARKS.md, "Search, 2026-12-07, a seventh session").

`RequestThreads` enters a `ThreadSensitiveContext` with an executor taken from a list of
idle ones (asgiref then keeps it, and Django's own context inside changes nothing). A request
still has its thread to itself while it runs: requests served at the same time take
different executors, as before. The executor goes back to the list only once all the work
queued on it is done (a last call queued behind that work puts it back), so a request that
was cancelled while its thread was busy never hands that thread to the next one.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext

KEEP_IDLE = 32  # idle threads kept; more are stopped once their work is done


class RequestThreads:
    """ASGI middleware around Django's HTTP handler (intranet/asgi.py)."""

    def __init__(self, app, *, keep_idle: int = KEEP_IDLE):
        self.app = app
        self.keep_idle = keep_idle
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()

    def _take(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def _put_back(self, executor: ThreadPoolExecutor) -> None:
        """Runs on the executor's own thread, after everything queued before it."""
        with self._lock:
            if len(self._idle) < self.keep_idle:
                self._idle.append(executor)
                return
        executor.shutdown(wait=False)

    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)

    async def __call__(self, scope, receive, send):
        executor = self._take()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            try:
                executor.submit(self._put_back, executor)
            except RuntimeError:  # the interpreter is shutting down
                executor.shutdown(wait=False)
