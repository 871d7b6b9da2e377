"""Record outbox events inside the caller's transaction."""

import logging
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import OutboxEvent

logger = logging.getLogger(__name__)


def record_event(
    *, topic: str, object_id: int, payload: dict | None = None, instance=None
) -> OutboxEvent:
    """Write an outbox row in the current transaction.

    The row commits or rolls back with the change it describes, so a consumer never hears of a
    change that did not happen and never misses one that did. After the commit, the event is
    also handed to `settings.REALTIME_PUBLISHER` (live updates; a failure there is logged and
    never reaches the caller). `instance`: the object as this transaction wrote it, handed to
    the publisher only (never stored), so that it need not read it back.
    """
    event = OutboxEvent.objects.create(
        topic=topic, object_id=object_id, payload=payload or {}, available_at=timezone.now()
    )
    if settings.REALTIME_PUBLISHER:
        # Live delivery is best effort and immediate; the outbox row is what is retried.
        extra = {"instance": instance} if instance is not None else {}
        publish = partial(
            import_string(settings.REALTIME_PUBLISHER), topic, object_id, payload, **extra
        )
        transaction.on_commit(publish, robust=True)
    if settings.OUTBOX_DRAIN_INLINE and not _drain_scheduled():
        transaction.on_commit(_drain_after_commit)
    return event


def _drain_after_commit() -> None:
    """Best effort: the change is already committed, so a failure here is logged, never raised
    at the user; the events stay in the table for the next drain or the worker."""
    from .worker import drain

    batch_size = 100
    try:
        while sum(drain(batch_size=batch_size)) == batch_size:
            pass
    except Exception:
        logger.exception("inline outbox drain failed; the events wait for the next drain")


def _drain_scheduled() -> bool:
    """One drain per transaction is enough, however many events it recorded."""
    return any(entry[1] is _drain_after_commit for entry in connection.run_on_commit)
