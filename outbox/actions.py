"""Record outbox events inside the caller's transaction."""

from django.conf import settings
from django.db import connection, transaction
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
    if settings.OUTBOX_DRAIN_INLINE and not _drain_scheduled():
        transaction.on_commit(_drain_after_commit)
    return event


def _drain_after_commit() -> None:
    from .worker import drain

    batch_size = 100
    while sum(drain(batch_size=batch_size)) == batch_size:
        pass


def _drain_scheduled() -> bool:
    """One drain per transaction is enough, however many events it recorded."""
    return any(entry[1] is _drain_after_commit for entry in connection.run_on_commit)
