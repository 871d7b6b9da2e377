"""Read paths for notifications: what a person is told, and how they want to be told.

Every list starts from `visible_notifications(viewer)`, which asks the permission module again
at read time: a notification about a post or comment someone may no longer see (they left the
private group since, the post was deleted), or about a report to someone who no longer
moderates, is never shown, counted in a digest, or emailed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

import permissions
from feeds.compiled import CountOf

from .models import (
    DEFAULT_DELIVERY,
    MODERATOR_KINDS,
    Delivery,
    Kind,
    Notification,
    NotificationPreference,
)

PAGE_SIZE = 30
MAX_PAGE_SIZE = 100


def visible_notifications(viewer) -> QuerySet[Notification]:
    """The notifications `viewer` may read now: theirs, about things they may still see."""
    if not permissions.is_active_staff(viewer):
        return Notification.objects.none()
    posts = permissions.visible_posts(viewer).values("pk")
    groups = permissions.visible_groups(viewer).values("pk")
    visible = Notification.objects.filter(recipient_id=viewer.pk).filter(
        Q(post__isnull=True) | Q(post__in=posts),
        Q(comment__isnull=True) | Q(comment__deleted__isnull=True),
        Q(group__isnull=True) | Q(group__in=groups),
    )
    if not permissions.can_moderate_reports(viewer):
        visible = visible.exclude(kind__in=MODERATOR_KINDS)
    return visible


def unread_count(*, user) -> int:
    """The bell's number: one indexed count (the consumer prunes what became invisible),
    compiled once (`feeds.compiled.CountOf`), as every page shows the bell. Reports of posts
    count only for a moderator: nothing prunes them when someone stops moderating, and the
    list (`visible_notifications`) no longer shows them to that person."""
    if not permissions.is_active_staff(user):
        return 0
    if permissions.can_moderate_reports(user):
        return _unread(user.pk)
    return _unread_not_moderating(user.pk)


def _unread_rows(user_id: int) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient_id=user_id, read_at__isnull=True)


_unread = CountOf(_unread_rows, person="recipient_id")
_unread_not_moderating = CountOf(
    lambda user_id: _unread_rows(user_id).exclude(kind__in=sorted(MODERATOR_KINDS)),
    person="recipient_id",
)


@dataclass
class NotificationPage:
    items: list[Notification]
    next_cursor: str | None
    unread: int


class InvalidCursor(ValueError):
    pass


def _encode_cursor(item: Notification) -> str:
    raw = f"{item.activity_at.isoformat()}|{item.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _sep, pk = raw.partition("|")
        moment = parse_datetime(when)
        if moment is None or not pk.isdigit() or len(pk) > 19:
            raise ValueError(cursor)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    return moment, int(pk)


def notifications_for(*, viewer, before: str | None = None, limit: int | None = None):
    """A page of `viewer`'s notifications, newest activity first (keyset, never OFFSET).

    Raises InvalidCursor for a `before` that is not one of ours.
    """
    limit = max(1, min(int(limit or PAGE_SIZE), MAX_PAGE_SIZE))
    qs = visible_notifications(viewer)
    if before:
        moment, pk = _decode_cursor(before)
        qs = qs.filter(Q(activity_at__lt=moment) | Q(activity_at=moment, pk__lt=pk))
    rows = list(
        qs.select_related("actor__profile", "group", "post", "comment").order_by(
            "-activity_at", "-id"
        )[: limit + 1]
    )
    items = rows[:limit]
    next_cursor = _encode_cursor(items[-1]) if len(rows) > limit else None
    return NotificationPage(items=items, next_cursor=next_cursor, unread=unread_count(user=viewer))


def notification_get(*, viewer, notification_id) -> Notification | None:
    try:
        notification_id = int(notification_id)
    except (TypeError, ValueError):
        return None
    return visible_notifications(viewer).filter(pk=notification_id).first()


# --- preferences ------------------------------------------------------------------------------


def kinds_for(*, user) -> list[str]:
    """The kinds of notification `user` can receive now, in `Kind` order: the ones about
    reports only while the permission module counts them as a moderator (someone who no
    longer is sees none of those they had, and is offered no choice about them)."""
    if permissions.can_moderate_reports(user):
        return list(Kind.values)
    return [kind for kind in Kind.values if kind not in MODERATOR_KINDS]


def preferences_for(*, user) -> dict[str, str]:
    """Every kind with how `user` wants it (their choice, else the default)."""
    chosen = dict(
        NotificationPreference.objects.filter(user_id=user.pk).values_list("kind", "delivery")
    )
    return {kind: chosen.get(kind, DEFAULT_DELIVERY[kind]) for kind in Kind.values}


def delivery_for(*, user_ids: Iterable[int], kind: str) -> dict[int, str]:
    """How each of `user_ids` wants notifications of `kind` (one query)."""
    ids = list(user_ids)
    default = DEFAULT_DELIVERY[kind]
    chosen = dict(
        NotificationPreference.objects.filter(kind=kind, user_id__in=ids).values_list(
            "user_id", "delivery"
        )
    )
    return {user_id: chosen.get(user_id, default) for user_id in ids}


def digest_kinds(*, user) -> list[str]:
    return [kind for kind, how in preferences_for(user=user).items() if how == Delivery.DIGEST]
