"""Write paths people use: read, mark all read, choose how to be told, unsubscribe.

(Notifications themselves are written by the outbox consumer, `notifications.consumers`.)
After each change the person's open pages get their new unread count (after commit).
"""

from __future__ import annotations

from functools import partial

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import permissions

from . import live
from .emails import ALL_EMAIL, read_unsubscribe_token
from .models import DEFAULT_DELIVERY, Delivery, Kind, Notification, NotificationPreference
from .selectors import preferences_for


def _push(user_id: int) -> None:
    transaction.on_commit(partial(live.push_unread_counts, [user_id]), robust=True)


def mark_read(*, user, notification: Notification) -> bool:
    """Mark one of one's own notifications read; True if it was unread."""
    if notification.recipient_id != user.pk:
        raise PermissionDenied
    with transaction.atomic():
        changed = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        if changed:
            _push(user.pk)
    return bool(changed)


def mark_all_read(*, user) -> int:
    if not permissions.is_active_staff(user):
        raise PermissionDenied
    with transaction.atomic():
        changed = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        if changed:
            _push(user.pk)
    return changed


def set_preferences(*, user, choices: dict[str, str]) -> dict[str, str]:
    """Choose, per kind, in-app, email at once, daily digest, or off."""
    if not permissions.is_active_staff(user):
        raise PermissionDenied
    errors = {}
    for kind, delivery in choices.items():
        if kind not in Kind.values:
            errors[kind] = _("Unknown kind of notification.")
        elif delivery not in Delivery.values:
            errors[kind] = _("Choose how to be told.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for kind, delivery in choices.items():
            if delivery == DEFAULT_DELIVERY[kind]:
                NotificationPreference.objects.filter(user_id=user.pk, kind=kind).delete()
            else:
                NotificationPreference.objects.update_or_create(
                    user_id=user.pk, kind=kind, defaults={"delivery": delivery}
                )
    return preferences_for(user=user)


def unsubscribe(*, token: str) -> tuple[object, list[str]]:
    """Stop the emails a signed link names (one kind, or all): they stay in Agora.

    Works without signing in: the token is the proof. ValidationError if it is not ours.
    Returns the person and the kinds that were changed.
    """
    try:
        user_id, kind = read_unsubscribe_token(token)
    except signing.BadSignature as exc:
        raise ValidationError(_("This unsubscribe link is not valid."), code="bad_token") from exc
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise ValidationError(_("This unsubscribe link is not valid."), code="bad_token")
    current = preferences_for(user=user)
    emailed = (Delivery.IMMEDIATE, Delivery.DIGEST)
    kinds = [k for k, how in current.items() if how in emailed] if kind == ALL_EMAIL else [kind]
    changes = {k: Delivery.IN_APP for k in kinds if current[k] in emailed}
    with transaction.atomic():
        for name, delivery in changes.items():
            NotificationPreference.objects.update_or_create(
                user_id=user.pk, kind=name, defaults={"delivery": delivery}
            )
    return user, kinds
