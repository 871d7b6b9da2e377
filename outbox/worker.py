"""Drain the outbox: hand each event to every consumer; delete it once all succeeded.

Consumers are the dotted paths in settings.OUTBOX_CONSUMERS: callables taking an OutboxEvent.
They must be idempotent, because a failed event is retried for every consumer with
exponential backoff (up to OUTBOX_MAX_ATTEMPTS, after which it stays in the table, visible in
the admin, for an operator to look at).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import OutboxEvent

logger = logging.getLogger(__name__)


def consumers() -> list[Callable[[OutboxEvent], None]]:
    return [import_string(path) for path in getattr(settings, "OUTBOX_CONSUMERS", [])]


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 15 * 60))


def drain(*, batch_size: int = 100) -> tuple[int, int]:
    """Handle the events that are due; return (handled, failed)."""
    handled = failed = 0
    handlers = consumers()
    with transaction.atomic():
        due = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(available_at__lte=timezone.now(), attempts__lt=settings.OUTBOX_MAX_ATTEMPTS)
            .order_by("id")[:batch_size]
        )
        for event in due:
            try:
                with transaction.atomic():  # a savepoint: a failing consumer's writes roll back
                    for handler in handlers:
                        handler(event)
            except Exception as exc:  # a consumer's failure must never lose the event
                failed += 1
                event.attempts += 1
                event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                event.available_at = timezone.now() + backoff(event.attempts)
                event.save(update_fields=["attempts", "last_error", "available_at"])
                if event.attempts == 1:
                    logger.warning("outbox event %s failed, will retry: %s", event, exc)
            else:
                handled += 1
                event.delete()
    return handled, failed
