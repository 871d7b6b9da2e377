"""Write paths of search: the outbox consumer and the rebuild.

`handle_event` is registered in settings.OUTBOX_CONSUMERS. It reloads what an event names
(events carry ids only), rewrites or removes the matching rows of the database index, and,
when Elasticsearch is the primary backend, sends the same documents there. It is idempotent:
handling an event twice leaves the index as handling it once.

Elasticsearch down: the database rows are written anyway (they are the fallback, so they must
stay current), and the keys Elasticsearch missed go into a `search.sync` outbox event in the
same transaction. Handling that event raises while Elasticsearch is unreachable, so the outbox
keeps it and retries with backoff: nothing is lost, and the backlog drains when the server
is back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from feeds.models import Comment, Post

from . import backends, documents
from .backends.base import BackendUnavailable, ReindexReport
from .models import SearchDocument

logger = logging.getLogger(__name__)

Kind = SearchDocument.Kind
SYNC_TOPIC = "search.sync"
SYNC_KEYS_PER_EVENT = 500
CHUNK = 1000

Key = tuple[str, int]


# --- the outbox consumer -------------------------------------------------------------------


def handle_event(event) -> None:
    """Bring the index in line with what `event` says changed (see docs/events.md)."""
    topic = event.topic
    if topic == SYNC_TOPIC:
        _sync_elasticsearch(parse_keys(event.payload.get("keys", [])))
        return
    handler = _HANDLERS.get(topic)
    if handler is None:
        return  # reactions, follows, invitations: nothing searchable changed
    keys = list(handler(event))
    if keys and backends.uses_elasticsearch():
        _push_to_elasticsearch(keys)


def _post_changed(event) -> Iterator[Key]:
    yield from refresh(Kind.POST, [event.object_id])
    post = Post.objects.filter(pk=event.object_id).only("deleted").first()
    if post is None or post.deleted is not None:
        # A deleted post takes its comments out of everyone's sight.
        ids = backends.database_backend().delete_comments_of_post(event.object_id)
        yield from ((Kind.COMMENT, i) for i in ids)


def _comment_changed(event) -> Iterator[Key]:
    yield from refresh(Kind.COMMENT, [event.object_id])


def _profile_changed(event) -> Iterator[Key]:
    before = SearchDocument.objects.filter(kind=Kind.PERSON, object_id=event.object_id).first()
    yield from refresh(Kind.PERSON, [event.object_id])
    after = SearchDocument.objects.filter(kind=Kind.PERSON, object_id=event.object_id).first()
    if before is None or after is None or before.title != after.title:
        # The author's name is in their posts' and comments' documents.
        from profiles.models import Profile

        user_id = Profile.objects.filter(pk=event.object_id).values_list("user_id", flat=True)
        user_id = user_id.first()
        if user_id is not None and (before is not None or after is not None):
            posts = Post.objects.filter(author_id=user_id, deleted__isnull=True)
            comments = Comment.objects.filter(author_id=user_id, deleted__isnull=True)
            yield from refresh(Kind.POST, posts.values_list("pk", flat=True))
            yield from refresh(Kind.COMMENT, comments.values_list("pk", flat=True))


def _group_changed(event) -> Iterator[Key]:
    before = SearchDocument.objects.filter(kind=Kind.GROUP, object_id=event.object_id).first()
    yield from refresh(Kind.GROUP, [event.object_id])
    after = SearchDocument.objects.filter(kind=Kind.GROUP, object_id=event.object_id).first()
    changed = (before is None) != (after is None) or (
        before is not None
        and after is not None
        and (before.group_kind, before.title) != (after.group_kind, after.title)
    )
    if changed:
        # The group's kind (who may read) and name are copied into its posts' documents.
        posts = Post.objects.filter(group_id=event.object_id, deleted__isnull=True)
        comments = Comment.objects.filter(post__group_id=event.object_id, deleted__isnull=True)
        yield from refresh(Kind.POST, posts.values_list("pk", flat=True))
        yield from refresh(Kind.COMMENT, comments.values_list("pk", flat=True))


def _membership_changed(event) -> Iterator[Key]:
    # Who may read is decided at query time from memberships (both backends), so nothing
    # in a document depends on them; the group's own document is refreshed all the same.
    yield from refresh(Kind.GROUP, [event.object_id])


_HANDLERS: dict[str, Callable] = {
    "post.created": _post_changed,
    "post.updated": _post_changed,
    "post.deleted": _post_changed,
    "comment.created": _comment_changed,
    "comment.deleted": _comment_changed,
    "profile.updated": _profile_changed,
    "group.updated": _group_changed,
    "membership.changed": _membership_changed,
}


def refresh(kind: str, ids: Iterable[int]) -> Iterator[Key]:
    """Rewrite the database documents of `ids`, removing those that should not exist."""
    database = backends.database_backend()
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        docs, missing = documents.build(kind, chunk)
        database.index(docs)
        if missing:
            database.delete([(kind, i) for i in missing])
        yield from ((kind, i) for i in chunk)


# --- Elasticsearch -------------------------------------------------------------------------


def format_keys(keys: Iterable[Key]) -> list[str]:
    return [f"{kind}-{object_id}" for kind, object_id in keys]


def parse_keys(raw: Iterable[str]) -> list[Key]:
    keys = []
    for item in raw:
        kind, _, object_id = str(item).rpartition("-")
        if kind in Kind.values and object_id.isdigit():
            keys.append((kind, int(object_id)))
    return keys


def _sync_elasticsearch(keys: list[Key]) -> None:
    """Copy these documents from the database index to Elasticsearch (raises if down)."""
    if not backends.uses_elasticsearch() or not keys:
        return
    backends.elasticsearch_backend().sync(keys)


def _push_to_elasticsearch(keys: list[Key]) -> None:
    try:
        backends.elasticsearch_backend().sync(keys)
    except BackendUnavailable as exc:
        from outbox.actions import record_event

        logger.warning(
            "Elasticsearch unreachable, %d documents wait in the outbox: %s", len(keys), exc
        )
        text = format_keys(keys)
        for start in range(0, len(text), SYNC_KEYS_PER_EVENT):
            record_event(
                topic=SYNC_TOPIC,
                object_id=0,
                payload={"keys": text[start : start + SYNC_KEYS_PER_EVENT]},
            )


# --- rebuilding ----------------------------------------------------------------------------


def reindex(
    *, database: bool = True, elasticsearch: bool = True, progress_bar=None
) -> Iterator[tuple[str, ReindexReport]]:
    """Rebuild the database index, then (if it is the primary) Elasticsearch from it."""
    if database:
        total = sum(documents.count(kind) for kind in Kind.values)
        bar = progress_bar(total, "database") if progress_bar else None
        report = backends.database_backend().reindex(progress=bar.update if bar else None)
        if bar:
            bar.close()
        yield "database", report
    if elasticsearch and backends.uses_elasticsearch():
        total = SearchDocument.objects.count()
        bar = progress_bar(total, "elasticsearch") if progress_bar else None
        report = backends.elasticsearch_backend().reindex(progress=bar.update if bar else None)
        if bar:
            bar.close()
        yield "elasticsearch", report
