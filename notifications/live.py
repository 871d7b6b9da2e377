"""Push the bell's unread count to a person's open pages, over the live-updates websocket.

Called after the commit that changed someone's notifications. It goes through the live
updates' one sender (`feeds.realtime.send`) to the person's own stream
(`permissions.user_stream`), which only their sockets listen to, as a `live.event` whose
meta says `{"event": "notifications.count", "user": id}` and whose text is
`{"kind": "notifications", "unread": n, "label": "..."}` (docs/events.md). A socket delivers
it when `feeds.consumers.LiveConsumer.wants` accepts that event; until then pages show the
count they were rendered with, and `GET /notifications/count/` answers it at any time.

Best effort, never raises: the database is the truth and every page load shows the count.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count
from django.utils import translation
from django.utils.translation import ngettext

import permissions

from .models import Notification

logger = logging.getLogger(__name__)

LIVE_EVENT = "notifications.count"
MAX_PUSHES = 1000  # a bigger fan-out (news to everyone) shows at the next page load


def count_label(count: int) -> str:
    return ngettext("%(count)d unread notification", "%(count)d unread notifications", count) % {
        "count": count
    }


def count_message(user_id: int, unread: int) -> dict:
    """The `live.event` for one person's socket(s): the count, in every interface language."""
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = json.dumps(
                {"kind": "notifications", "unread": unread, "label": count_label(unread)},
                separators=(",", ":"),
                ensure_ascii=False,
            )
    return {
        "type": "live.event",
        "meta": {"event": LIVE_EVENT, "post": None, "user": user_id},
        "text": texts,
    }


def push_unread_counts(user_ids: Iterable[int]) -> int:
    """Send each person their new unread count; returns how many messages went out."""
    if not getattr(settings, "REALTIME_PUBLISHER", None):
        return 0  # live updates are turned off
    ids = sorted(set(user_ids))[:MAX_PUSHES]
    if not ids:
        return 0
    try:
        from feeds import realtime

        counts = dict(
            Notification.objects.filter(recipient_id__in=ids, read_at__isnull=True)
            .values("recipient_id")
            .annotate(n=Count("pk"))
            .values_list("recipient_id", "n")
        )
        sent = 0
        for user_id in ids:
            sent += bool(
                realtime.send(
                    permissions.user_stream(user_id), count_message(user_id, counts.get(user_id, 0))
                )
            )
        return sent
    except Exception:  # the count is shown on the next page load anyway
        logger.exception("Could not push notification counts")
        return 0
