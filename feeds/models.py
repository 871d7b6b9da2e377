"""Posts and what hangs off them: comments, reactions, mentions, hashtags, attachments.

Post and comment ids grow with time, so `id` is the feed's keyset cursor.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from intranet.paths import path_for


class Hashtag(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)  # stored lower-case

    class Meta:
        ordering = ["name"]
        verbose_name = _("hashtag")
        verbose_name_plural = _("hashtags")

    def __str__(self) -> str:
        return f"#{self.name}"

    def get_absolute_url(self) -> str:
        return path_for("feeds:hashtag", self.name)


# Post columns the database keeps (see Post.comment_count); Post.save() never writes them.
TALLIES = ("comment_count", "reaction_tally", "tag_rows")


class Post(models.Model):
    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("Everyone on the network")
        AGENCY = "agency", _("My agency only")
        GROUP = "group", _("Members of a group")

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="posts"
    )
    body = models.TextField(_("message"), max_length=settings.AGORA_POST_MAX_LENGTH)
    body_html = models.TextField(editable=False)
    audience = models.CharField(
        _("audience"), max_length=10, choices=Audience.choices, default=Audience.EVERYONE
    )
    # The author's agency when the post was written: an "agency" post stays with that agency
    # even if the author moves.
    agency = models.ForeignKey(
        "profiles.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="posts"
    )
    group = models.ForeignKey(
        "groups.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="posts"
    )
    is_announcement = models.BooleanField(_("announcement"), default=False)
    hashtags = models.ManyToManyField(Hashtag, blank=True, related_name="posts")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    edited = models.DateTimeField(null=True, blank=True)
    deleted = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What every card shows of the post's comments, reactions and hashtags, kept by the
    # database itself (triggers: migration 0005_post_tallies), so that a feed page reads them
    # with the post instead of three sub-queries per row (docs/BENCHMARKS.md, "Home feed").
    # Whatever writes a comment, a reaction or a hashtag link (actions, admin, cascades, bulk
    # loads) keeps them true; `save()` never writes them back.
    comment_count = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    reaction_tally = models.JSONField(null=True, blank=True, editable=False)  # {kind: count}
    tag_rows = models.JSONField(null=True, blank=True, editable=False)  # [{id, name}]

    class Meta:
        ordering = ["-id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        constraints = [
            models.CheckConstraint(
                condition=(Q(audience="group", group__isnull=False))
                | (~Q(audience="group") & Q(group__isnull=True)),
                name="post_group_iff_group_audience",
            ),
            models.CheckConstraint(
                condition=~Q(audience="agency") | Q(agency__isnull=False),
                name="post_agency_audience_has_agency",
            ),
        ]
        indexes = [
            # A person's posts, newest first. It carries the columns the permission filter
            # reads (permissions.visible_posts), so a home feed page deep in the past reads
            # each followee's posts from the index alone (docs/BENCHMARKS.md, "Home feed");
            # INCLUDE is PostgreSQL's, elsewhere this is the plain (author, -id) index.
            models.Index(
                fields=["author", "-id"],
                include=["deleted", "audience", "agency", "group"],
                name="post_author_visible_id",
            ),
            models.Index(fields=["group", "-id"], name="post_group_id"),
            models.Index(
                fields=["-id"], condition=Q(is_announcement=True), name="post_announcement_id"
            ),
        ]

    def __str__(self) -> str:
        return f"Post {self.pk} by {self.author_id}"

    def save(self, *args, **kwargs) -> None:
        """As Model.save(), but an existing post's tallies are left to the database: an
        instance read before a comment or reaction arrived must not write its old counts."""
        if not self._state.adding and not kwargs.get("force_insert"):
            if kwargs.get("update_fields") is None:
                deferred = self.get_deferred_fields()
                kwargs["update_fields"] = [
                    field.attname
                    for field in self._meta.concrete_fields
                    if not field.primary_key
                    and field.name not in TALLIES
                    and field.attname not in deferred
                ]
            else:
                kwargs["update_fields"] = [
                    name for name in kwargs["update_fields"] if name not in TALLIES
                ]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return path_for("feeds:post", self.pk)

    @property
    def is_deleted(self) -> bool:
        return self.deleted is not None


class Comment(models.Model):
    """A comment on a post, or a reply to a comment (one level: replies have no replies)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments"
    )
    body = models.TextField(_("comment"), max_length=settings.AGORA_POST_MAX_LENGTH)
    body_html = models.TextField(editable=False)
    created = models.DateTimeField(auto_now_add=True)
    edited = models.DateTimeField(null=True, blank=True)
    deleted = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [models.Index(fields=["post", "id"], name="comment_post_id")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.post_id}"


class Reaction(models.Model):
    class Kind(models.TextChoices):
        LIKE = "like", _("Like")
        CELEBRATE = "celebrate", _("Celebrate")
        SUPPORT = "support", _("Support")
        INSIGHTFUL = "insightful", _("Insightful")
        THANKS = "thanks", _("Thanks")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reaction")
        verbose_name_plural = _("reactions")
        constraints = [
            models.UniqueConstraint(fields=["post", "user", "kind"], name="react_once_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user_id} on {self.post_id}"


class Mention(models.Model):
    """Someone named with @handle in a post or a comment."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="mentions")
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="mentions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")
        constraints = [
            models.UniqueConstraint(
                fields=["post", "user"], condition=Q(comment__isnull=True), name="mention_post_once"
            ),
            models.UniqueConstraint(
                fields=["comment", "user"],
                condition=Q(comment__isnull=False),
                name="mention_comment_once",
            ),
        ]

    def __str__(self) -> str:
        return f"@{self.user_id} in {self.post_id}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        DOCUMENT = "document", _("Document")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    original_name = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return path_for("feeds:attachment", self.pk)


class Report(models.Model):
    """A member of staff telling the moderators that a post breaks the community guidelines.

    One open report per person and post (reporting again while it is open changes nothing);
    a moderator resolves it in Django's admin. Reports are never shown to the post's author.
    """

    class Reason(models.TextChoices):
        HARASSMENT = "harassment", _("Harassment or disrespect")
        CONFIDENTIAL = "confidential", _("Confidential or personal information")
        SPAM = "spam", _("Spam or advertising")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    DETAILS_MAX_LENGTH = 1000

    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="reports", verbose_name=_("post")
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="post_reports",
        verbose_name=_("reported by"),
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    details = models.TextField(_("details"), max_length=DETAILS_MAX_LENGTH, blank=True)
    created = models.DateTimeField(_("reported"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    resolved = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "post"],
                condition=Q(status="open"),
                name="report_open_once_per_reporter",
            )
        ]

    def __str__(self) -> str:
        return f"Report {self.pk} on post {self.post_id} ({self.reason})"


class IdempotencyKey(models.Model):
    """A write someone asked to happen once (feeds.idempotency): their key, what they sent, and
    what it created.

    Written by feeds.actions in the transaction that creates the post or comment, so neither
    exists without the other; a row without its object is a first request still writing.
    Keys are per person (two people may choose the same one), and a replay re-reads the
    object through the permission module, so a key never shows anyone anything. Rows expire
    after `settings.AGORA_IDEMPOTENCY_KEY_HOURS` and are deleted by the next keyed write.
    Deleting the person deletes their keys; deleting the object (posts and comments are only
    soft-deleted by the actions, a group's deletion removes its posts) deletes its key.
    """

    class Endpoint(models.TextChoices):
        API_POST = "api:posts", "POST /api/posts/"
        API_COMMENT = "api:post-comments", "POST /api/posts/<id>/comments/"
        WEB_POST = "feeds:post_create", "the composer"
        WEB_COMMENT = "feeds:comment_create", "the comment and reply forms"

    # No index of its own: the unique (user, key) constraint's index starts with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=30, choices=Endpoint.choices)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of the validated input, in hex
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user"),
            models.CheckConstraint(
                condition=Q(post__isnull=True) | Q(comment__isnull=True),
                name="idempotency_key_one_object",
            ),
        ]
        indexes = [models.Index(fields=["created"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"Key {self.key!r} of {self.user_id} ({self.endpoint})"
