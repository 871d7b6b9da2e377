"""The live-updates websocket, `/ws/`: one per open page that shows live content.

A consumer delivers only (STYLE.md): at connect it loads its person's live state once
(`selectors.live_state`: the streams the permission module lets them read, whom they
follow, their groups), hands itself to the process hub, and from then on decides per message,
from that state and the page it serves, whether the event belongs on the page: no query per
message. The hub applies state changes (membership, follow, deactivation) as they happen.

Query string: `feed` = `home` | `group:<id>` | `profile:<user id>` | `post:<id>` (which new
posts belong on the page; absent on pages without a feed: they still get what is addressed to
their person, like the bell's count), `lang` (the page's language, for the pre-rendered
fragments).
The page may send `{"watch": [post ids]}`: the posts it shows, whose counts, edits and
comments it wants (changes to posts it may not see never reach it: the stream decides).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

import permissions

from . import selectors
from .live_hub import hub
from .realtime import READY, parse_feed

logger = logging.getLogger(__name__)

MAX_WATCHED = 500
MAX_CLIENT_MESSAGE = 16_000
CLOSE_NOT_ALLOWED = 4403  # deactivated or signed out: the page stops reconnecting
CLOSE_TRY_AGAIN = 1011  # the channel layer is unreachable: the page retries with backoff


class LiveConsumer(AsyncWebsocketConsumer):
    # No channel of its own: the process hub receives each message once and writes to us.
    channel_layer_alias = None

    user_id: int
    streams: frozenset[str] = frozenset()
    followed_ids: frozenset[int] = frozenset()  # (not `groups`: channels' consumers use that name)
    group_ids: frozenset[int] = frozenset()

    async def connect(self) -> None:
        self.attached = False
        user = self.scope.get("user")
        if not permissions.is_active_staff(user):
            await self.close()  # before accept: the handshake is refused (403)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.feed, self.feed_id = parse_feed((query.get("feed") or [""])[0])
        lang = (query.get("lang") or [""])[0]
        codes = [code for code, _name in settings.LANGUAGES]
        self.lang = lang if lang in codes else settings.LANGUAGE_CODE
        self.watched: dict[int, None] = {}  # insertion-ordered set of post ids
        if self.feed == "post":
            self.watch([self.feed_id])
        state = self.scope.get("live_state")  # read with the person by intranet.ws_auth
        if state is None:
            state = await database_sync_to_async(selectors.live_state)(user=user)
        if not state.streams:
            await self.close()
            return
        self.user_id = user.pk
        self.set_state(state)
        await self.accept()
        self.attached = True
        self.hub = hub()
        try:
            await self.hub.attach(self)
        except Exception as exc:  # noqa: BLE001 (logged once per outage by the hub)
            logger.debug("Live socket refused, channel layer unreachable: %r", exc)
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        await self.send(text_data=READY)

    async def disconnect(self, code) -> None:
        if getattr(self, "attached", False):
            self.attached = False
            await self.hub.detach(self)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if not text_data or len(text_data) > MAX_CLIENT_MESSAGE:
            return
        try:
            data = json.loads(text_data)
        except ValueError:
            return
        if isinstance(data, dict) and isinstance(data.get("watch"), list):
            self.watched = {}
            if self.feed == "post":
                self.watch([self.feed_id])
            self.watch(data["watch"])

    # --- used by the hub -----------------------------------------------------------------------

    def set_state(self, state: selectors.LiveState) -> None:
        self.streams = state.streams
        self.followed_ids = state.follows
        self.group_ids = state.groups

    def watch(self, post_ids) -> None:
        for post_id in post_ids:
            if isinstance(post_id, int) and not isinstance(post_id, bool):
                self.watched[post_id] = None
        while len(self.watched) > MAX_WATCHED:
            del self.watched[next(iter(self.watched))]

    def wants(self, meta: dict) -> bool:
        """Does this event belong on this page? (Whether the person may see it was decided
        by the stream it came on.)"""
        if meta.get("user") is not None:  # addressed to one person (e.g. the bell's count)
            return meta["user"] == self.user_id
        post_id = meta["post"]
        if meta["event"] != "post.new":
            return post_id in self.watched
        feed = self.feed
        if feed == "home":
            author, group = meta["author"], meta["group"]
            hit = (
                author == self.user_id
                or meta["announcement"]
                or author in self.followed_ids
                or (group is not None and group in self.group_ids)
            )
        elif feed == "group":
            hit = meta["group"] == self.feed_id
        elif feed == "profile":
            hit = meta["author"] == self.feed_id
        else:
            hit = False
        if hit:
            self.watch((post_id,))
        return hit

    async def push(self, texts: dict[str, str]) -> None:
        text = texts.get(self.lang) or texts[settings.LANGUAGE_CODE]
        await self.base_send({"type": "websocket.send", "text": text})

    async def push_text(self, text: str) -> None:
        await self.base_send({"type": "websocket.send", "text": text})

    async def shut(self) -> None:
        """Deactivated (or no longer allowed anything): close; the page does not retry."""
        if self.attached:
            self.attached = False
            await self.hub.detach(self)
        await self.close(code=CLOSE_NOT_ALLOWED)
