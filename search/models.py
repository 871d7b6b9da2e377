"""The search index kept in the database: one row per searchable thing.

The rows are derived data: `manage.py search_reindex` rebuilds them from posts, comments,
profiles and groups. The database backend searches them (PostgreSQL: the `vector` column and
its GIN index; SQLite: the FTS5 table `search_fts`, kept in step by triggers; both made by
migration 0002), and the Elasticsearch backend is fed from them, so this table is always
current even when Elasticsearch is the primary backend.

Ids are handed out in time order (new content is indexed after it is written; a rebuild
inserts oldest first), so `id` is both the "newest first" sort key and the keyset cursor.

The permission facts (`audience`, `agency_id`, `group_id`, `group_kind`) are copies, kept for
Elasticsearch's filter clauses. The database backend never trusts them: it checks every hit
against the permission module's querysets (see search/backends/database.py).
"""

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SearchDocument(models.Model):
    class Kind(models.TextChoices):
        POST = "post", _("Post")
        COMMENT = "comment", _("Comment")
        PERSON = "person", _("Person")
        GROUP = "group", _("Group")

    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("Everyone")
        AGENCY = "agency", _("Agency")
        GROUP = "group", _("Group members")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    object_id = models.BigIntegerField()
    # Posts and comments: the post whose permission the document follows.
    post_id = models.BigIntegerField(null=True, blank=True)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    agency_id = models.BigIntegerField(null=True, blank=True)
    group_id = models.BigIntegerField(null=True, blank=True)
    group_kind = models.CharField(max_length=10, blank=True)
    # Posts and comments: the author; people: the user.
    author_id = models.BigIntegerField(null=True, blank=True)
    created = models.DateTimeField()
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    # Hashtags (posts) or expertise (people), lower-case, space-separated.
    tags = models.TextField(blank=True)
    # Who and where: author, group, agency, department, job title.
    context = models.TextField(blank=True)
    # PostgreSQL only: weighted tsvector of title (A), tags (B), body (C), context (D).
    vector = SearchVectorField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="search_document_once"),
            models.CheckConstraint(
                condition=Q(kind__in=["post", "comment"], post_id__isnull=False)
                | Q(kind__in=["person", "group"]),
                name="search_document_post_has_post_id",
            ),
        ]
        indexes = [
            models.Index(fields=["post_id"], name="search_doc_post"),
            models.Index(fields=["kind", "-id"], name="search_doc_kind_id"),
            models.Index(fields=["author_id", "-id"], name="search_doc_author_id"),
            models.Index(fields=["group_id", "-id"], name="search_doc_group_id"),
            models.Index(fields=["agency_id", "-id"], name="search_doc_agency_id"),
            models.Index(fields=["created"], name="search_doc_created"),
            models.Index(fields=["updated"], name="search_doc_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id}"

    @property
    def key(self) -> str:
        """The document's identity outside the database (Elasticsearch's `_id`)."""
        return f"{self.kind}-{self.object_id}"
