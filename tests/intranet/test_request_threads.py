"""intranet/request_threads.py: each HTTP request's synchronous code on a thread kept from an
earlier request, never on one another request is still using."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.core.signals import request_started

from intranet.asgi import application
from intranet.request_threads import RequestThreads

WAIT = 10  # seconds: only a broken thread hand-over waits this long


async def _idle(wrapper: RequestThreads, count: int) -> None:
    """Until `count` executors are back in the idle list (their put-back runs on their own
    thread, after the request has returned)."""
    for _ in range(WAIT * 100):
        if wrapper.idle_count() >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{wrapper.idle_count()} idle executors, expected {count}")


def _recording_app(seen: list):
    """Records the thread each request's synchronous code ran on (the Thread itself: a new
    thread may be given the identifier of one that has ended)."""

    async def app(scope, receive, send):
        seen.append(await sync_to_async(threading.current_thread)())

    return app


def test_one_request_after_another_runs_on_the_same_thread():
    seen: list[threading.Thread] = []
    wrapper = RequestThreads(_recording_app(seen))

    async def main():
        await wrapper({"type": "http"}, None, None)
        await _idle(wrapper, 1)
        await wrapper({"type": "http"}, None, None)

    asyncio.run(main())
    assert len(seen) == 2
    assert seen[0] is seen[1]
    assert seen[0] is not threading.current_thread()


def test_requests_served_at_the_same_time_each_have_a_thread():
    """The first request's thread waits for something only the second request's thread does:
    on one shared thread the wait would time out."""
    second_ran = threading.Event()
    threads: dict[str, threading.Thread] = {}

    def first_part():
        threads["first"] = threading.current_thread()
        return second_ran.wait(WAIT)

    def second_part():
        threads["second"] = threading.current_thread()
        second_ran.set()

    async def app(scope, receive, send):
        part = {"first": first_part, "second": second_part}.get(scope["name"], lambda: None)
        scope["result"] = await sync_to_async(part)()

    wrapper = RequestThreads(app)
    first, second = {"type": "http", "name": "first"}, {"type": "http", "name": "second"}

    async def main():
        await wrapper({"type": "http", "name": "earlier"}, None, None)  # leaves an idle thread
        await _idle(wrapper, 1)
        started = asyncio.create_task(wrapper(first, None, None))
        await asyncio.sleep(0)  # the first request takes its thread first
        await wrapper(second, None, None)
        await started
        await _idle(wrapper, 2)

    asyncio.run(main())
    assert first["result"] is True
    assert threads["first"] is not threads["second"]
    assert wrapper.idle_count() == 2


def test_a_thread_still_busy_after_its_request_is_not_handed_on():
    """A request that returns while work it queued still runs (a task it left behind, or a
    cancelled request): the next request gets another thread and is not queued behind it."""
    release = threading.Event()
    threads: dict[str, threading.Thread] = {}

    def left_running():
        threads["left"] = threading.current_thread()
        release.wait(WAIT)

    async def app(scope, receive, send):
        if scope["name"] == "leaves work behind":
            scope["task"] = asyncio.ensure_future(sync_to_async(left_running)())
            await asyncio.sleep(0)
            return
        threads["next"] = await sync_to_async(threading.current_thread)()

    wrapper = RequestThreads(app)
    first = {"type": "http", "name": "leaves work behind"}

    async def main():
        await wrapper(first, None, None)
        for _ in range(WAIT * 100):  # the left-behind work has started on its thread
            if "left" in threads:
                break
            await asyncio.sleep(0.01)
        await asyncio.wait_for(wrapper({"type": "http", "name": "next"}, None, None), WAIT)
        await _idle(wrapper, 1)  # the next request's thread
        assert wrapper.idle_count() == 1  # and not the busy one
        release.set()
        await first["task"]
        await _idle(wrapper, 2)

    asyncio.run(main())
    assert threads["left"] is not threads["next"]


def test_idle_threads_beyond_the_limit_are_stopped():
    seen: list[threading.Thread] = []
    wrapper = RequestThreads(_recording_app(seen), keep_idle=1)

    async def main():
        await asyncio.gather(*(wrapper({"type": "http"}, None, None) for _ in range(3)))
        await _idle(wrapper, 1)
        for _ in range(WAIT * 100):  # the two others have been stopped
            if sum(t.is_alive() for t in seen) <= 1:
                return
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert len(set(seen)) == 3
    assert wrapper.idle_count() == 1
    assert sum(t.is_alive() for t in seen) == 1


async def _get(path: str) -> int:
    """One GET through the project's ASGI application, in process."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    done, sent = asyncio.Event(), False
    statuses = []

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await application(scope, receive, send)
    done.set()
    return statuses[0]


@pytest.mark.django_db(transaction=True)
def test_the_project_serves_successive_requests_on_one_thread():
    """intranet.asgi wraps Django's handler: the request signals (run on the request's
    thread) see the same thread for two requests in turn, and not the event loop's."""
    threads: list[threading.Thread] = []

    def record(**kwargs):
        threads.append(threading.current_thread())

    wrapper = application.application_mapping["http"]
    assert isinstance(wrapper, RequestThreads)
    request_started.connect(record, dispatch_uid="test_request_threads")
    try:

        async def main():
            before = wrapper.idle_count()
            first = await _get("/api/search/")
            await _idle(wrapper, max(before, 1))
            second = await _get("/api/search/")
            return first, second

        statuses = asyncio.run(main())
    finally:
        request_started.disconnect(dispatch_uid="test_request_threads")
    assert statuses == (401, 401)  # no credentials: the API asks for them, as ever
    assert len(threads) == 2
    assert threads[0] is threads[1]
    assert threads[0] is not threading.current_thread()
