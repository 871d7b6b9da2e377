"""Record outbox events inside the caller's transaction."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import OutboxEvent


def record_event(*, topic: str, object_id: int, payload: dict | None = None) -> OutboxEvent:
    """Write an outbox row in the current transaction.

    The row commits or rolls back with the change it describes, so a consumer never hears of a
    change that did not happen and never misses one that did.
    """
    event = OutboxEvent.objects.create(
        topic=topic, object_id=object_id, payload=payload or {}, available_at=timezone.now()
    )
    if settings.OUTBOX_DRAIN_INLINE:
        from .worker import drain

        transaction.on_commit(drain)
    return event
