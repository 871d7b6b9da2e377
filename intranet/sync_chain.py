"""Django's ASGI handler, with a request's middleware and view run as one synchronous call.

Django builds its middleware chain for ASGI as async as it can: each middleware that can run
either way runs async, and Django adapts around the others. Ours mixes both, so one request
went back and forth between the event loop and its thread about ten times: `sync_to_async`
for each hook of the async middleware and for the view, and `async_to_sync` from our
synchronous middleware back into the async ones. Each crossing costs a request time
(docs/BENCHMARKS.md, "Search, 2026-12-07, a ninth session"), and the crossing back into the
event loop hung the server on SIGTERM: the loop stops, a request thread waits for it for
ever, and the interpreter's exit waits for that thread.

`SyncChainASGIHandler` builds the chain as Django's WSGI handler does (every middleware and
the view synchronous) and runs Django's synchronous `get_response` with one `sync_to_async`,
on the request's thread (thread-sensitive, as Django calls synchronous code:
intranet/request_threads.py). What stays async is Django's own request handling around it:
reading the body, the request signals, sending the response.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)  # the chain as for WSGI

    async def get_response_async(self, request):
        """Django's synchronous `get_response` (the URL configuration, the chain, an error
        response logged), in one call on the request's thread."""
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """django.core.asgi.get_asgi_application, with this handler."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
