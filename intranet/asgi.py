"""ASGI entry point, served by daphne: HTTP, and the live-updates websocket at /ws/."""

import gc
import os

from intranet.sync_chain import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")

# Django's handler, with each request's middleware and view run in one synchronous call
# (intranet/sync_chain.py).
django_asgi_app = get_asgi_application()

# After Django is set up:
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver, path  # noqa: E402

from feeds.consumers import LiveConsumer  # noqa: E402
from intranet.request_threads import RequestThreads  # noqa: E402
from intranet.ws_auth import SessionOrTokenAuth  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Each request's synchronous code on a thread kept from an earlier request, instead of
        # a thread started and stopped per request (intranet/request_threads.py).
        "http": RequestThreads(django_asgi_app),
        "websocket": SessionOrTokenAuth(URLRouter([path("ws/", LiveConsumer.as_asgi())])),
    }
)

# What is loaded by now lives as long as the process (settings, models, URL patterns and
# their views, translations). Frozen, it is left out of the garbage collector's full
# collections, which otherwise walked it all: a pause of 170 ms in a request about once per
# 2,400 search requests (docs/BENCHMARKS.md, 2026-12-07).
get_resolver().url_patterns  # noqa: B018  (imports every view now, not on a first request)
gc.collect()
gc.freeze()
