"""In-app notifications, each person's choices about them, and the ledger of daily digests.

Notifications are derived data: the outbox consumer (`notifications.consumers`) writes them
from the events of the other apps, and a person only ever sees those about things the
permission module still lets them see (see `notifications.selectors`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    MENTION = "mention", _("Someone mentions me")
    COMMENT = "comment", _("Comments on my posts")
    REPLY = "reply", _("Replies to my comments")
    REACTION = "reaction", _("Reactions to my posts")
    FOLLOW = "follow", _("New followers")
    INVITATION = "invitation", _("Invitations to groups")
    JOIN_REQUEST = "join_request", _("Requests to join a group I run")
    JOIN_DECISION = "join_decision", _("Answers to my requests to join a group")
    NEWS = "news", _("Intranet news for all staff or my agency")
    REPORT = "report", _("Reports of posts to moderate")  # moderators only


class Delivery(models.TextChoices):
    IN_APP = "in_app", _("In Agora")
    IMMEDIATE = "immediate", _("In Agora and by email at once")
    DIGEST = "digest", _("In Agora and in a daily email")
    OFF = "off", _("Off")


# What a person gets until they choose: someone who needs them (or a report that waits for a
# moderator) reaches them by email once a day; everything else stays in Agora.
DEFAULT_DELIVERY: dict[str, str] = dict.fromkeys(Kind.values, Delivery.IN_APP) | {
    Kind.MENTION: Delivery.DIGEST,
    Kind.INVITATION: Delivery.DIGEST,
    Kind.JOIN_REQUEST: Delivery.DIGEST,
    Kind.REPORT: Delivery.DIGEST,
}

# Kinds only the moderators of reports receive (`permissions.can_moderate_reports` decides):
# nobody else is shown them or offered a choice about them (notifications.selectors).
MODERATOR_KINDS = frozenset({Kind.REPORT})


class NotificationPreference(models.Model):
    """How one person wants one kind of notification (no row: DEFAULT_DELIVERY)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    delivery = models.CharField(_("delivery"), max_length=12, choices=Delivery.choices)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind} → {self.delivery}"


class Digest(models.Model):
    """The ledger of daily digests: one row per person per day.

    The row is written in the transaction that marks the notifications it includes, and
    `sent_at` is set once the email went out. A run that is interrupted between the two
    leaves the row unsent; the next run sends exactly that digest (never a second one for the
    day, and nothing it had included is forgotten).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_digests"
    )
    day = models.DateField(_("day"))
    created = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    item_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily digest")
        verbose_name_plural = _("daily digests")
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="one_digest_a_day")]
        indexes = [
            models.Index(fields=["day"], condition=Q(sent_at__isnull=True), name="digest_unsent")
        ]

    def __str__(self) -> str:
        return f"digest {self.day} for {self.user_id}"


class Notification(models.Model):
    """One thing someone should know about, linking to it.

    `key` names what the notification is about (for example `reaction:post:12`), so the
    consumer writes each at most once per person however often an event is retried, and
    reactions to one post group into one notification ("Ana and 4 others").
    """

    Kind = Kind

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=120)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_count = models.PositiveIntegerField(default=1)  # people behind a grouped one
    post = models.ForeignKey(
        "feeds.Post", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    comment = models.ForeignKey(
        "feeds.Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    group = models.ForeignKey(
        "groups.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    url = models.CharField(max_length=500)
    extra = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    activity_at = models.DateTimeField(default=timezone.now)  # the latest thing that happened
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    digest = models.ForeignKey(
        Digest, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )

    class Meta:
        ordering = ["-activity_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_key")
        ]
        indexes = [
            models.Index(
                fields=["recipient", "-activity_at", "-id"], name="notification_recipient_recent"
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True, digest__isnull=True, emailed_at__isnull=True),
                name="notification_digest_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} ({self.key})"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
