"""Live updates, publishing side: the one module that calls the channel layer's `group_send`.

`outbox.actions.record_event` schedules `publish_event(topic, object_id, payload)` to run
after the transaction commits (`settings.REALTIME_PUBLISHER`). For each event this module

1. reloads the object (only ids travel),
2. asks the permission module where it may go: `permissions.post_stream(post)` for content,
   `permissions.user_stream(user_id)` for a change to one person's own sockets,
3. renders the HTML fragment once per interface language, viewer-neutral (the page fills in
   its own CSRF token and "mine" state), and encodes the JSON a socket receives once per
   language,
4. sends ONE message to that stream's channel-layer group (`live.<stream>`).

Each server process receives it once (`feeds.live_hub`) and writes the pre-encoded text to
each of its sockets that listens to the stream and wants the event (docs/events.md lists
the payloads).

Delivery is best effort; the database plus `since=<cursor>` guarantees nothing is missed. An
unreachable channel layer (Redis) never fails the write that published: it is logged once
per outage; if it fails slowly (a host that does not answer), sends pause for a moment rather
than make every request wait; and when it answers again every socket is told to catch up
(`{"kind": "sync"}`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import ngettext

import permissions

from . import cards, selectors
from .cursors import encode_cursor
from .forms import CommentForm

logger = logging.getLogger(__name__)

GROUP_PREFIX = "live."
SEND_TIMEOUT = 2.0  # seconds: a hung Redis must not hold a request for long
RETRY_AFTER = 2.0  # seconds without send attempts after a slow failure
SLOW_FAILURE = 0.2  # seconds: a failure slower than this pauses sending for RETRY_AFTER
PROBE_MAX_INTERVAL = 30.0


def group_name(stream: str) -> str:
    """The channel-layer group of a permission stream."""
    return f"{GROUP_PREFIX}{stream}"


def encode(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


FEED_KINDS = {"group", "profile", "post"}


def parse_feed(raw: str | None) -> tuple[str, int | None]:
    """`home`, `group:12`, `profile:7`, `post:42` -> (kind, id); anything else: ("", None)."""
    raw = (raw or "").strip()
    if raw == "home":
        return "home", None
    kind, _, number = raw.partition(":")
    if kind in FEED_KINDS and number.isascii() and number.isdigit() and len(number) < 19:
        return kind, int(number)
    return "", None


# --- the outage switch -------------------------------------------------------------------------


class _Outage:
    """Whether the channel layer is down, shared by the threads of one process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down = False
        self.retry_at = 0.0
        self.probe: threading.Thread | None = None

    def reset(self) -> None:
        with self.lock:
            self.down, self.retry_at = False, 0.0


_outage = _Outage()


def reset_outage() -> None:
    """Forget a past outage (tests)."""
    _outage.reset()


def _failed(exc: BaseException, took: float) -> None:
    with _outage.lock:
        first = not _outage.down
        _outage.down = True
        if took > SLOW_FAILURE:
            # A dead host that makes us wait (not one that refuses at once): skip sends for a
            # moment rather than hold every request that publishes.
            _outage.retry_at = time.monotonic() + RETRY_AFTER
        start_probe = _outage.probe is None or not _outage.probe.is_alive()
        if start_probe:
            _outage.probe = threading.Thread(target=_probe, name="live-probe", daemon=True)
    if first:
        logger.warning(
            "Live updates are not being delivered (channel layer unreachable: %s). Posts are "
            "saved; pages catch up when it is back. Logged once per outage.",
            exc.__class__.__name__,
        )
    if start_probe:
        _outage.probe.start()


def _recovered(*, synced: bool = False) -> None:
    with _outage.lock:
        was_down = _outage.down
        _outage.down = False
    if was_down:
        logger.warning("Live updates are delivered again; pages are told to catch up.")
        if not synced:
            _send_now(group_name(permissions.EVERYONE_STREAM), {"type": "live.sync"})


def _probe() -> None:
    """While the layer is down, knock now and then, so pages catch up even if nobody posts."""
    interval = RETRY_AFTER
    while True:
        time.sleep(interval)
        with _outage.lock:
            if not _outage.down:
                return
        layer = get_channel_layer()
        try:
            async_to_sync(_bounded_send)(
                layer, group_name(permissions.EVERYONE_STREAM), {"type": "live.sync"}
            )
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 (still down: knock later)
            interval = min(interval * 2, PROBE_MAX_INTERVAL)
            continue
        _recovered(synced=True)  # the knock was the "sync" itself
        return


async def _bounded_send(layer, group: str, message: dict) -> None:
    await asyncio.wait_for(layer.group_send(group, message), timeout=SEND_TIMEOUT)


def _send_now(group: str, message: dict) -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    started = time.monotonic()
    try:
        async_to_sync(_bounded_send)(layer, group, message)
    except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001 (see below)
        # Never raise into the request that published. A send cancelled under it (its Redis
        # connection closed mid-command, as the live hub drops its pools when Redis fails)
        # arrives here as asyncio.CancelledError, which is not an Exception; this is a
        # thread, with no task of its own to cancel: it is a failed send like any other.
        _failed(exc, time.monotonic() - started)
        return False
    return True


def send(stream: str, message: dict) -> bool:
    """Send one message to a stream's group; False (logged once) if the layer is down."""
    if _outage.down and time.monotonic() < _outage.retry_at:
        return False
    message = {**message, "stream": stream}
    if not _send_now(group_name(stream), message):
        return False
    if _outage.down:
        _recovered()
    return True


# --- building the messages ---------------------------------------------------------------------


def _per_language(build: Callable[[], dict]) -> dict[str, str]:
    """The JSON text a socket receives, encoded once per interface language."""
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = encode(build())
    return texts


def _neutral(context: dict) -> dict:
    """A context for fragments rendered once for every viewer: no CSRF token, no "mine"."""
    return {"live": True, **context}


def render_post_card(post) -> str:
    """The card every viewer receives (feeds.cards, `live`: no CSRF token, no "mine")."""
    return cards.post_card(post, live=True)


def render_comment(comment) -> str:
    """A comment as the post page lists it: a thread with its reply form, or one reply."""
    if comment.parent_id is None:
        comment.thread_replies = []
        comment.reply_form = CommentForm(
            initial={"parent": comment.pk}, auto_id=f"reply{comment.pk}_%s"
        )
        template = "feeds/partials/comment_thread.html"
    else:
        template = "feeds/partials/comment_reply.html"
    comment.can_delete = False
    context = _neutral({"comment": comment, "post": comment.post})
    return render_to_string(template, context).strip()


def comment_count_label(count: int) -> str:
    return ngettext("%(counter)s comment", "%(counter)s comments", count) % {"counter": count}


def _post_event(post, op: str) -> dict | None:
    stream = permissions.post_stream(post)
    if stream is None:
        return None
    cursor = encode_cursor(post.pk)
    if op == "add":
        meta = {
            "event": "post.new",
            "post": post.pk,
            "author": post.author_id,
            "group": post.group_id,
            "announcement": post.is_announcement,
        }
    else:
        meta = {"event": "post.change", "post": post.pk}
    return {
        "type": "live.event",
        "stream": stream,
        "meta": meta,
        "text": _per_language(
            lambda: {
                "kind": "post",
                "op": op,
                "id": post.pk,
                "cursor": cursor,
                "html": render_post_card(post),
            }
        ),
    }


def post_created(post_id: int, payload: dict, instance=None) -> dict | None:
    """`instance`: the post as actions.create_post wrote it, in this thread, a moment ago (no
    comments, no reactions yet): its card needs no reading back."""
    if instance is not None:
        post = selectors.post_as_written(post=instance, viewer=None)
    else:
        post = selectors.post_for_delivery(post_id=post_id)
    return _post_event(post, "add") if post is not None else None


def post_updated(post_id: int, payload: dict) -> dict | None:
    post = selectors.post_for_delivery(post_id=post_id)
    return _post_event(post, "update") if post is not None else None


def post_deleted(post_id: int, payload: dict) -> dict | None:
    post = selectors.post_for_delivery(post_id=post_id)
    if post is None:
        return None
    stream = permissions.post_stream(post, deleted_ok=True)
    if stream is None:
        return None
    text = encode({"kind": "post", "op": "delete", "id": post.pk})
    return {
        "type": "live.event",
        "stream": stream,
        "meta": {"event": "post.change", "post": post.pk},
        "text": {code: text for code, _name in settings.LANGUAGES},
    }


def _comment_event(comment_id: int, op: str) -> dict | None:
    comment = selectors.comment_for_delivery(comment_id=comment_id)
    if comment is None:
        return None
    post = comment.post
    stream = permissions.post_stream(post)
    if stream is None or (op == "add" and comment.deleted is not None):
        return None
    count = post.comment_count  # read with the comment, after it committed (a column: Post)

    def build() -> dict:
        data = {
            "kind": "comment",
            "op": op,
            "id": comment.pk,
            "post": post.pk,
            "parent": comment.parent_id,
            "cursor": encode_cursor(comment.pk),
            "count": count,
            "count_label": comment_count_label(count),
        }
        if op == "add":
            data["html"] = render_comment(comment)
        return data

    return {
        "type": "live.event",
        "stream": stream,
        "meta": {"event": "post.change", "post": post.pk},
        "text": _per_language(build),
    }


def comment_created(comment_id: int, payload: dict) -> dict | None:
    return _comment_event(comment_id, "add")


def comment_deleted(comment_id: int, payload: dict) -> dict | None:
    return _comment_event(comment_id, "delete")


def reaction_changed(post_id: int, payload: dict) -> dict | None:
    post = selectors.post_for_delivery(post_id=post_id)
    if post is None:
        return None
    stream = permissions.post_stream(post)
    if stream is None:
        return None
    counts = {kind: count for kind, _label, count, _mine in post.reaction_counts}
    text = encode(
        {
            "kind": "reactions",
            "op": "update",
            "id": post.pk,
            "counts": counts,
            "total": sum(counts.values()),
        }
    )
    return {
        "type": "live.event",
        "stream": stream,
        "meta": {"event": "post.change", "post": post.pk},
        "text": {code: text for code, _name in settings.LANGUAGES},
    }


def state_of(user_id: int | None) -> dict | None:
    """A person's new live state, for their open sockets (empty streams: close them)."""
    if user_id is None:
        return None
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return None
    state = selectors.live_state(user=user)
    return {
        "type": "live.state",
        "stream": permissions.user_stream(user_id),
        "state": state.as_message(),
    }


def membership_changed(group_id: int, payload: dict) -> dict | None:
    return state_of(payload.get("user"))


def follow_created(follow_id: int, payload: dict) -> dict | None:
    from profiles.models import Follow

    follower = Follow.objects.filter(pk=follow_id).values_list("follower_id", flat=True).first()
    return state_of(follower)


def follow_deleted(followee_id: int, payload: dict) -> dict | None:
    return state_of(payload.get("follower"))


def profile_updated(profile_id: int, payload: dict) -> dict | None:
    from profiles.models import Profile

    user_id = Profile.objects.filter(pk=profile_id).values_list("user_id", flat=True).first()
    return state_of(user_id)


def user_deactivated(user_id: int, payload: dict) -> dict | None:
    return state_of(user_id)


BUILDERS: dict[str, Callable[[int, dict], dict | None]] = {
    "post.created": post_created,
    "post.updated": post_updated,
    "post.deleted": post_deleted,
    "comment.created": comment_created,
    "comment.deleted": comment_deleted,
    "reaction.changed": reaction_changed,
    "membership.changed": membership_changed,
    "follow.created": follow_created,
    "follow.deleted": follow_deleted,
    "profile.updated": profile_updated,
    "user.deactivated": user_deactivated,
}
# The builders that can take the object as it was just written instead of reading it back.
TAKES_INSTANCE = {"post.created"}


def build_message(
    topic: str, object_id: int, payload: dict | None = None, instance=None
) -> dict | None:
    """The one channel-layer message for an outbox event, or None if it goes nowhere live.
    `instance` (see outbox.actions.record_event) is used by the builders that take it."""
    builder = BUILDERS.get(topic)
    if builder is None:
        return None
    if instance is not None and topic in TAKES_INSTANCE:
        return builder(object_id, payload or {}, instance=instance)
    return builder(object_id, payload or {})


# The topics whose message is a person's whole live state (`state_of`), read when it is built.
STATE_TOPICS = frozenset(
    {
        "membership.changed",
        "follow.created",
        "follow.deleted",
        "profile.updated",
        "user.deactivated",
    }
)


class StateNotDelivered(Exception):
    """The channel layer did not take a person's new state: the outbox keeps the event."""


def republish_state(event) -> None:
    """Outbox consumer (settings.OUTBOX_CONSUMERS): send a change of someone's access (removed
    from a group, deactivated, ...) to their open sockets once more, from the outbox worker.

    The publisher sends it at once, after commit, best effort. A process that could not reach
    the channel layer at that moment may end before anyone hears of the outage (a directory
    sync deactivating someone): no page would be told to catch up, and a socket would stay on
    a stream its person may no longer read until it reconnects. The worker lives on: a failed
    send raises, so the event is retried until the layer takes it, and the outage switch's
    probe tells every page to catch up when the layer is back (each hub then reads its
    people's states again). A state message is the whole state, read when it is sent: twice is
    harmless. Two publishers' messages for one person may cross on the way; the worker drains
    changes in the order they were made, so its last message, read after the last change
    committed, puts the person's sockets where they belong.
    """
    if event.topic not in STATE_TOPICS or not settings.REALTIME_PUBLISHER:
        return
    if get_channel_layer() is None:  # live updates switched off: nobody to tell
        return
    message = build_message(event.topic, event.object_id, event.payload)
    if message is not None and not send(message.pop("stream"), message):
        raise StateNotDelivered(f"channel layer unreachable; {event.topic} kept for a retry")


def publish_event(topic: str, object_id: int, payload: dict | None = None, instance=None) -> bool:
    """Publish an outbox event to the sockets that may see it. Never raises.

    Called after commit (`settings.REALTIME_PUBLISHER`); returns whether a message was sent.
    """
    try:
        message = build_message(topic, object_id, payload, instance=instance)
    except Exception:  # a rendering bug must not fail the write that already committed
        logger.exception("Could not build the live message for %s %s", topic, object_id)
        return False
    if message is None:
        return False
    return send(message.pop("stream"), message)


# Kinds of the messages a socket receives, besides the events above.
READY = encode({"kind": "ready"})
SYNC = encode({"kind": "sync"})
