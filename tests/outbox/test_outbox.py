"""The transactional outbox: rows commit or roll back with the change, the worker hands them to
every consumer, deletes them only on success, and retries failures with backoff."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError, transaction
from django.test import override_settings
from django.utils import timezone

from feeds.actions import create_post
from outbox import worker
from outbox.actions import record_event
from outbox.models import OutboxEvent
from profiles.models import Agency

pytestmark = pytest.mark.django_db

HERE = __name__
RECORDING = f"{HERE}.recording_consumer"
FLAKY = f"{HERE}.flaky_consumer"
WRITING_THEN_FAILING = f"{HERE}.writing_then_failing_consumer"

seen: list[tuple[str, int]] = []
state = {"fail": False}


def recording_consumer(event: OutboxEvent) -> None:
    """Remembers what it was handed."""
    seen.append((event.topic, event.object_id))


def flaky_consumer(event: OutboxEvent) -> None:
    """Fails while state['fail'] is set."""
    if state["fail"]:
        raise RuntimeError("search index is down")
    seen.append(("flaky", event.object_id))


def writing_then_failing_consumer(event: OutboxEvent) -> None:
    """Writes a row, then fails for odd object ids: its write must not survive."""
    Agency.objects.create(name=f"Written for {event.object_id}", slug=f"w-{event.object_id}")
    if event.object_id % 2:
        raise ValueError(f"odd {event.object_id}")


@pytest.fixture(autouse=True)
def _reset(settings):
    seen.clear()
    state["fail"] = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOX_DRAIN_INLINE = False
    settings.OUTBOX_CONSUMERS = []
    settings.REALTIME_PUBLISHER = None  # live delivery has its own tests


def make_due(**filters) -> None:
    OutboxEvent.objects.filter(**filters).update(available_at=timezone.now() - timedelta(seconds=1))


# --- recording --------------------------------------------------------------------------------


def test_record_event_rolls_back_with_its_transaction():
    """An event recorded in a transaction that fails is gone with it."""
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(topic="post.created", object_id=1)
        raise RuntimeError("the change failed")
    assert not OutboxEvent.objects.exists()
    event = record_event(topic="post.created", object_id=2, payload={"a": 1})
    stored = OutboxEvent.objects.get()
    assert (stored.pk, stored.topic, stored.object_id, stored.payload) == (
        event.pk,
        "post.created",
        2,
        {"a": 1},
    )
    assert stored.attempts == 0 and stored.available_at <= timezone.now()


def test_failed_action_records_nothing(user):
    """An action that fails inside its transaction leaves no event behind."""
    with pytest.raises(RuntimeError), transaction.atomic():
        create_post(author=user, body="Never happened")
        raise RuntimeError("later step failed")
    assert not OutboxEvent.objects.exists()


@override_settings(OUTBOX_DRAIN_INLINE=False)
def test_without_inline_drain_nothing_runs_after_commit(django_capture_on_commit_callbacks):
    """With the worker as its own process, recording schedules nothing in the web process."""
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        record_event(topic="a", object_id=1)
    assert callbacks == []


@override_settings(OUTBOX_DRAIN_INLINE=True, OUTBOX_CONSUMERS=[RECORDING])
def test_inline_drain_runs_once_after_commit(django_capture_on_commit_callbacks):
    """Inline, one drain runs after the commit, however many events the transaction recorded,
    and it delivers them all."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        record_event(topic="a", object_id=1)
        record_event(topic="b", object_id=2)
        assert seen == [], "nothing is delivered before the commit"
    assert len(callbacks) == 1
    assert seen == [("a", 1), ("b", 2)]
    assert not OutboxEvent.objects.exists()


def _database_locked(**kwargs):
    raise OperationalError("database is locked")


@pytest.mark.parametrize("failure", ["missing consumer", "database error"])
def test_inline_drain_failure_does_not_fail_the_write(
    user, failure, settings, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """A drain that blows up after the commit is logged, not raised at the user whose change
    is already saved; the events stay for the worker."""
    settings.OUTBOX_DRAIN_INLINE = True
    if failure == "missing consumer":
        settings.OUTBOX_CONSUMERS = [f"{HERE}.no_such_consumer"]
    else:
        settings.OUTBOX_CONSUMERS = [RECORDING]
        monkeypatch.setattr(worker, "drain", _database_locked)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post = create_post(author=user, body="Saved anyway")
    assert len(callbacks) == 1
    assert OutboxEvent.objects.filter(topic="post.created", object_id=post.pk).exists()
    assert "inline outbox drain failed" in caplog.text
    assert seen == []


# --- draining ---------------------------------------------------------------------------------


@override_settings(OUTBOX_CONSUMERS=[RECORDING, FLAKY])
def test_drain_hands_events_to_every_consumer_and_deletes_them():
    """Every consumer gets every due event, in order; handled events are deleted."""
    for i in range(3):
        record_event(topic="t", object_id=i)
    assert worker.drain() == (3, 0)
    assert seen == [("t", 0), ("flaky", 0), ("t", 1), ("flaky", 1), ("t", 2), ("flaky", 2)]
    assert not OutboxEvent.objects.exists()
    assert worker.drain() == (0, 0)


@override_settings(OUTBOX_CONSUMERS=[RECORDING, FLAKY])
def test_failing_consumer_keeps_the_event_for_a_retry():
    """A failure leaves the row with attempts+1, the error and a later available_at; a later
    drain, once it is due and the consumer works again, delivers and deletes it."""
    event = record_event(topic="t", object_id=7)
    state["fail"] = True
    before = timezone.now()
    assert worker.drain() == (0, 1)
    stored = OutboxEvent.objects.get(pk=event.pk)
    assert stored.attempts == 1
    assert stored.last_error == "RuntimeError: search index is down"
    assert stored.available_at > before
    assert stored.available_at >= before + worker.backoff(1)

    # Not due yet: nothing happens, even if the consumer recovered.
    state["fail"] = False
    seen.clear()
    assert worker.drain() == (0, 0)
    assert seen == []

    # Fails again once due: the backoff grows.
    state["fail"] = True
    make_due(pk=event.pk)
    assert worker.drain() == (0, 1)
    assert OutboxEvent.objects.get(pk=event.pk).attempts == 2
    assert worker.backoff(2) > worker.backoff(1)

    state["fail"] = False
    make_due(pk=event.pk)
    seen.clear()
    assert worker.drain() == (1, 0)
    assert seen == [("t", 7), ("flaky", 7)], "retried for every consumer"
    assert not OutboxEvent.objects.exists()


@override_settings(OUTBOX_CONSUMERS=[WRITING_THEN_FAILING])
def test_failing_consumer_writes_roll_back_and_others_proceed():
    """A consumer's writes roll back when it fails; the next event is still handled."""
    record_event(topic="t", object_id=1)  # fails
    record_event(topic="t", object_id=2)  # succeeds
    assert worker.drain() == (1, 1)
    assert list(Agency.objects.filter(slug__startswith="w-").values_list("slug", flat=True)) == [
        "w-2"
    ]
    assert list(OutboxEvent.objects.values_list("object_id", "attempts")) == [(1, 1)]
    assert "ValueError: odd 1" in OutboxEvent.objects.get().last_error


@override_settings(OUTBOX_CONSUMERS=[RECORDING], OUTBOX_MAX_ATTEMPTS=3)
def test_events_past_max_attempts_are_left_for_an_operator():
    """An event that failed too often is no longer picked; it stays in the table."""
    event = record_event(topic="t", object_id=1)
    OutboxEvent.objects.filter(pk=event.pk).update(attempts=3)
    assert worker.drain() == (0, 0)
    assert OutboxEvent.objects.filter(pk=event.pk).exists()


@override_settings(OUTBOX_CONSUMERS=[RECORDING])
def test_drain_respects_batch_size_and_order():
    """A drain takes at most batch_size due events, oldest first."""
    for i in range(5):
        record_event(topic="t", object_id=i)
    assert worker.drain(batch_size=2) == (2, 0)
    assert seen == [("t", 0), ("t", 1)]
    assert list(OutboxEvent.objects.values_list("object_id", flat=True)) == [2, 3, 4]


def test_backoff_is_capped():
    """Backoff doubles and stops at fifteen minutes."""
    assert worker.backoff(1) == timedelta(seconds=2)
    assert worker.backoff(3) == timedelta(seconds=8)
    assert worker.backoff(40) == timedelta(minutes=15)


# --- the command ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the command recycles connections, as a process does
@override_settings(OUTBOX_CONSUMERS=[RECORDING, FLAKY])
def test_run_outbox_once():
    """`run_outbox --once` drains what is due, reports, and exits."""
    record_event(topic="t", object_id=1)
    record_event(topic="t", object_id=2)
    out = StringIO()
    call_command("run_outbox", "--once", stdout=out)
    assert out.getvalue().strip() == "handled 2, failed 0"
    assert not OutboxEvent.objects.exists()
    record_event(topic="t", object_id=3)
    state["fail"] = True
    out = StringIO()
    call_command("run_outbox", "--once", stdout=out)
    assert out.getvalue().strip() == "handled 0, failed 1"
    assert OutboxEvent.objects.get().attempts == 1
