"""The transactional outbox: work that must follow a commit, recorded inside it."""

from django.db import models


class OutboxEvent(models.Model):
    """One event for the consumers (search indexing, notifications, ...).

    Written in the same transaction as the change it describes; deleted only after every
    consumer handled it. `attempts` and `available_at` give retries with backoff.
    """

    topic = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    payload = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.topic}:{self.object_id}"
