"""Notifications tests: the outbox is drained by hand, after-commit work runs at once.

`deliver()` drains the outbox through the notifications consumer only (search indexing has
its own tests) and runs what the consumer scheduled after commit (emails, live pushes).
Emails land in Django's locmem outbox (`mailoutbox`).
"""

import pytest

from outbox.worker import drain


@pytest.fixture(autouse=True)
def _notifications_only(settings):
    settings.OUTBOX_CONSUMERS = ["notifications.consumers.handle_event"]
    settings.OUTBOX_DRAIN_INLINE = False
    settings.REALTIME_PUBLISHER = None  # the push has its own test
    settings.AGORA_BASE_URL = "https://agora.example.gov"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            while sum(drain()):
                pass

    return run
