"""ASGI entry point, served by daphne: HTTP, and the live-updates websocket at /ws/."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")

django_asgi_app = get_asgi_application()

# After Django is set up:
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from feeds.consumers import LiveConsumer  # noqa: E402
from intranet.ws_auth import SessionOrTokenAuth  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SessionOrTokenAuth(URLRouter([path("ws/", LiveConsumer.as_asgi())])),
    }
)
