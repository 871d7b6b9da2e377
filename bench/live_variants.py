"""Designs bench/live.py measures beside the one Agora ships, to show why it ships that one.

- `naive`: the textbook Channels consumer: every socket gets its own channel and joins the
  group of each stream it may read; the layer delivers one copy per socket and each consumer
  handles it in its own coroutine (one hop, one channel-layer receive per socket).
  Served as `bench.live_variants:naive_application`.
- `pubsub`: Agora's per-process hub on channels_redis' RedisPubSubChannelLayer instead of
  the core RedisChannelLayer. Selected with DJANGO_SETTINGS_MODULE=bench.live_pubsub_settings.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")
django_asgi_app = get_asgi_application()

from channels.db import database_sync_to_async  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

import permissions  # noqa: E402
from feeds import selectors  # noqa: E402
from feeds.consumers import LiveConsumer  # noqa: E402
from feeds.realtime import READY, SYNC, group_name  # noqa: E402
from intranet.ws_auth import SessionOrTokenAuth  # noqa: E402


class NaiveLiveConsumer(LiveConsumer):
    """Same page filter as LiveConsumer; delivery the textbook way (a channel per socket)."""

    channel_layer_alias = "default"

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not permissions.is_active_staff(user):
            await self.close()
            return
        self.feed, self.feed_id, self.lang, self.watched = "home", None, "en", {}
        state = await database_sync_to_async(selectors.live_state)(user=user)
        self.user_id = user.pk
        self.set_state(state)
        for stream in state.streams:
            await self.channel_layer.group_add(group_name(stream), self.channel_name)
        await self.accept()
        await self.send(text_data=READY)

    async def disconnect(self, code) -> None:
        for stream in self.streams:
            await self.channel_layer.group_discard(group_name(stream), self.channel_name)

    async def live_event(self, message) -> None:
        if self.wants(message["meta"]):
            await self.push(message["text"])

    async def live_state(self, message) -> None:
        self.set_state(selectors.LiveState.from_message(message["state"]))

    async def live_sync(self, message) -> None:
        await self.send(text_data=SYNC)


naive_application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SessionOrTokenAuth(URLRouter([path("ws/", NaiveLiveConsumer.as_asgi())])),
    }
)
