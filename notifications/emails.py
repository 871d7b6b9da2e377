"""Notification emails: one at once (preference "immediate") or a daily digest.

Every email is multipart (plain text and HTML), in the recipient's language, and carries a
link that stops emails of its kind without signing in: a token signed with the project's
secret key (`django.core.signing`, salted), also offered as `List-Unsubscribe` (RFC 8058
one-click).

Digests are idempotent through the `Digest` ledger (one row per person per day): a run first
writes the row and marks what it includes, in one transaction, then sends, then stamps
`sent_at`. A run interrupted in between leaves an unsent row that the next run sends; no run
writes a second row for the same day. Run one `send_digests` at a time (one scheduler).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .messages import describe, excerpt
from .models import Delivery, Digest, Kind, Notification
from .selectors import delivery_for, digest_kinds, visible_notifications

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
ALL_EMAIL = "*"  # an unsubscribe token for every kind that comes by email
DIGEST_MAX_ITEMS = 50  # listed in one digest; the rest are counted
IMMEDIATE_RETRY_AFTER = timedelta(minutes=5)
IMMEDIATE_RETRY_WINDOW = timedelta(days=2)


# --- unsubscribe tokens -----------------------------------------------------------------------


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(user id, kind) from a token; BadSignature if it was not made by us."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if not isinstance(data, dict):
        raise signing.BadSignature("not an unsubscribe token")
    user_id, kind = data.get("u"), data.get("k")
    if not isinstance(user_id, int) or (kind not in Kind.values and kind != ALL_EMAIL):
        raise signing.BadSignature("not an unsubscribe token")
    return user_id, kind


def absolute(path: str) -> str:
    return f"{settings.AGORA_BASE_URL}{path}"


def unsubscribe_url(*, user_id: int, kind: str) -> str:
    token = unsubscribe_token(user_id=user_id, kind=kind)
    return absolute(reverse("notifications:unsubscribe", args=[token]))


def _language(user) -> str:
    profile = getattr(user, "profile", None)
    language = getattr(profile, "preferred_language", "") or settings.LANGUAGE_CODE
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _email(*, user, subject: str, template: str, context: dict, unsubscribe: str, message_id):
    context = {
        **context,
        "site_url": absolute("/"),
        "preferences_url": absolute(reverse("notifications:preferences")),
    }
    text = render_to_string(f"notifications/email/{template}.txt", context)
    html = render_to_string(f"notifications/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
            "Message-ID": message_id,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def _domain() -> str:
    return settings.AGORA_BASE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]


def _item(notification: Notification) -> dict:
    return {
        "notification": notification,
        "message": describe(notification),
        "excerpt": excerpt(notification),
        "url": absolute(reverse("notifications:open", args=[notification.pk])),
    }


# --- at once ----------------------------------------------------------------------------------


def send_immediate(notification_ids: list[int]) -> int:
    """Email these notifications now (after the commit that wrote them). Never raises.

    Each is claimed first (`emailed_at`), so two senders never both send it; a failure gives
    the claim back and the next `send_digests` run retries it.
    """
    sent = 0
    for pk in notification_ids:
        claimed = Notification.objects.filter(
            pk=pk, emailed_at__isnull=True, read_at__isnull=True
        ).update(emailed_at=timezone.now())
        if not claimed:
            continue
        try:
            sent += _send_one(pk)
        except Exception:
            logger.exception("Could not email notification %s; the next run retries it", pk)
            Notification.objects.filter(pk=pk).update(emailed_at=None)
    return sent


def _send_one(pk: int) -> int:
    notification = (
        Notification.objects.select_related(
            "recipient__profile", "actor__profile", "post", "comment", "group"
        )
        .filter(pk=pk)
        .first()
    )
    if notification is None:
        return 0
    user = notification.recipient
    if not user.is_active or not user.email:
        return 0
    if delivery_for(user_ids=[user.pk], kind=notification.kind)[user.pk] != Delivery.IMMEDIATE:
        return 0
    if not visible_notifications(user).filter(pk=pk).exists():
        return 0  # they may no longer see what it is about
    with translation.override(_language(user)):
        item = _item(notification)
        kind_label = Kind(notification.kind).label
        unsubscribe = unsubscribe_url(user_id=user.pk, kind=notification.kind)
        message = _email(
            user=user,
            subject=item["message"],
            template="immediate",
            context={
                "item": item,
                "kind_label": kind_label,
                "unsubscribe_url": unsubscribe,
                "user": user,
            },
            unsubscribe=unsubscribe,
            message_id=f"<notification-{pk}@{_domain()}>",
        )
    message.send()
    return 1


def retry_immediate(*, now: datetime | None = None) -> int:
    """Send the immediate emails a failure left unsent (recent, still unread)."""
    now = now or timezone.now()
    pending = Notification.objects.filter(
        emailed_at__isnull=True,
        read_at__isnull=True,
        digest__isnull=True,
        created__lt=now - IMMEDIATE_RETRY_AFTER,
        created__gte=now - IMMEDIATE_RETRY_WINDOW,
    ).values_list("pk", "recipient_id", "kind")
    due = []
    by_kind: dict[str, list[tuple[int, int]]] = {}
    for pk, user_id, kind in pending:
        by_kind.setdefault(kind, []).append((pk, user_id))
    for kind, rows in by_kind.items():
        wanted = delivery_for(user_ids={user_id for _pk, user_id in rows}, kind=kind)
        due.extend(pk for pk, user_id in rows if wanted[user_id] == Delivery.IMMEDIATE)
    return send_immediate(sorted(due)) if due else 0


# --- daily digest -----------------------------------------------------------------------------


@dataclass
class DigestReport:
    sent: int = 0
    resumed: int = 0
    failed: int = 0
    immediate_retried: int = 0
    too_early: bool = False


def run_digests(*, now: datetime | None = None, force: bool = False) -> DigestReport:
    """Send today's digest to everyone who has missed something they get by digest.

    Before NOTIFICATIONS_DIGEST_HOUR (local time) nothing is sent unless `force`. Digests an
    earlier run prepared but could not send go first. A failure for one person is logged and
    retried on the next run; the others still get theirs.
    """
    now = now or timezone.now()
    report = DigestReport()
    report.immediate_retried = retry_immediate(now=now)
    for digest in Digest.objects.filter(sent_at__isnull=True).order_by("id"):
        if _send_digest(digest, report):
            report.resumed += 1
    if not force and timezone.localtime(now).hour < settings.NOTIFICATIONS_DIGEST_HOUR:
        report.too_early = True
        return report
    day = timezone.localdate(now)
    candidates = (
        Notification.objects.filter(
            read_at__isnull=True,
            digest__isnull=True,
            emailed_at__isnull=True,
            created__lte=now,
            recipient__is_active=True,
        )
        .exclude(recipient__notification_digests__day=day)
        .values_list("recipient_id", flat=True)
        .distinct()
        .order_by("recipient_id")
    )
    for user_id in list(candidates):
        digest = prepare_digest(user_id=user_id, day=day, now=now)
        if digest is not None and _send_digest(digest, report):
            report.sent += 1
    return report


def prepare_digest(*, user_id: int, day, now: datetime) -> Digest | None:
    """Write the day's ledger row and mark what it includes, in one transaction.

    None if the person has nothing to catch up on by digest, or already has a row that day.
    """
    User = get_user_model()
    user = User.objects.select_related("profile").filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return None
    kinds = digest_kinds(user=user)
    if not kinds:
        return None
    with transaction.atomic():
        ids = list(
            visible_notifications(user)
            .filter(
                kind__in=kinds,
                read_at__isnull=True,
                digest__isnull=True,
                emailed_at__isnull=True,
                created__lte=now,
            )
            .values_list("pk", flat=True)
        )
        if not ids:
            return None
        try:
            with transaction.atomic():
                digest = Digest.objects.create(user=user, day=day, item_count=len(ids))
        except IntegrityError:  # today's digest exists: never a second one
            return None
        Notification.objects.filter(pk__in=ids).update(digest=digest)
    return digest


def _send_digest(digest: Digest, report: DigestReport) -> bool:
    try:
        _deliver_digest(digest)
    except Exception:
        report.failed += 1
        logger.exception("Could not send digest %s; the next run retries it", digest.pk)
        return False
    return True


def _deliver_digest(digest: Digest) -> None:
    user = get_user_model().objects.select_related("profile").get(pk=digest.user_id)
    items = list(
        visible_notifications(user)
        .filter(digest=digest)
        .select_related("actor__profile", "post", "comment", "group")
        .order_by("-activity_at", "-id")
    )
    if items and user.is_active and user.email:
        with translation.override(_language(user)):
            shown = [_item(n) for n in items[:DIGEST_MAX_ITEMS]]
            kinds = sorted({n.kind for n in items}, key=Kind.values.index)
            subject = ngettext(
                "Agora: %(count)d thing you missed",
                "Agora: %(count)d things you missed",
                len(items),
            ) % {"count": len(items)}
            unsubscribe_all = unsubscribe_url(user_id=user.pk, kind=ALL_EMAIL)
            message = _email(
                user=user,
                subject=subject,
                template="digest",
                context={
                    "user": user,
                    "items": shown,
                    "more": len(items) - len(shown),
                    "day": digest.day,
                    "kinds": [
                        (Kind(kind).label, unsubscribe_url(user_id=user.pk, kind=kind))
                        for kind in kinds
                    ],
                    "unsubscribe_url": unsubscribe_all,
                    "intro": _("Here is what happened on Agora while you were away."),
                },
                unsubscribe=unsubscribe_all,
                message_id=f"<digest-{user.pk}-{digest.day.isoformat()}@{_domain()}>",
            )
        message.send()
    Digest.objects.filter(pk=digest.pk).update(sent_at=timezone.now(), item_count=len(items))
