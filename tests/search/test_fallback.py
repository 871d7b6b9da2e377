"""Elasticsearch configured but unreachable: searches answer from the database backend with
a visible notice, the database index stays current, and what Elasticsearch missed waits in
the outbox until it is back."""

from __future__ import annotations

import pytest
from django.utils import timezone

from feeds import actions as feed_actions
from outbox.models import OutboxEvent
from search import backends, indexing
from search.backends.elasticsearch import ElasticsearchBackend

from .conftest import drain_outbox
from .helpers import search

pytestmark = pytest.mark.django_db

CLOSED_PORT = "http://127.0.0.1:1"  # nothing listens there: connection refused at once


@pytest.fixture
def dead_elasticsearch(settings):
    settings.SEARCH_BACKEND = "elasticsearch"
    settings.ELASTICSEARCH_URL = CLOSED_PORT
    settings.ELASTICSEARCH_INDEX = "agora-test"
    settings.ELASTICSEARCH_TIMEOUT = 1.0
    backends._elasticsearch.clear()
    yield
    backends._elasticsearch.clear()


def test_searches_fall_back_with_a_notice(world, dead_elasticsearch, client, api_as_carol):
    results = search(world.carol, "kingfisher")
    assert results.backend == "database"
    assert results.notice
    assert [r.pk for r in results.results] == [world.posts["everyone"].pk]
    client.force_login(world.carol)
    html = client.get("/search/", {"q": "kingfisher"}).content.decode()
    assert results.notice in html and 'role="status"' in html
    data = api_as_carol.get("/api/search/", {"q": "kingfisher", "counts": "true"}).json()
    assert data["backend"] == "database" and data["notice"]
    assert data["counts"] == {"post": 1}


def test_new_content_reaches_the_database_index_and_waits_for_elasticsearch(
    world, dead_elasticsearch, commit
):
    post = commit(feed_actions.create_post, author=world.bob, body="A lapwing in the marsh")
    # Found at once, through the database fallback.
    assert [r.pk for r in search(world.carol, "lapwing").results] == [post.pk]
    # What Elasticsearch missed is in the outbox, retried with backoff, not lost.
    waiting = OutboxEvent.objects.filter(topic=indexing.SYNC_TOPIC)
    assert waiting.exists()
    assert any(f"post-{post.pk}" in e.payload["keys"] for e in waiting)
    assert all(
        e.attempts >= 1 and "Elasticsearch" in e.last_error or e.attempts == 0 for e in waiting
    )
    failed = waiting.filter(attempts__gte=1)
    assert failed.exists(), "handling the sync event while Elasticsearch is down must fail"


def test_the_backlog_drains_when_elasticsearch_is_back(
    world, dead_elasticsearch, commit, monkeypatch
):
    post = commit(feed_actions.create_post, author=world.bob, body="A curlew calls")
    assert OutboxEvent.objects.filter(topic=indexing.SYNC_TOPIC).exists()
    sent: list = []
    monkeypatch.setattr(ElasticsearchBackend, "sync", lambda self, keys: sent.extend(keys))
    OutboxEvent.objects.update(available_at=timezone.now())
    drain_outbox()
    assert not OutboxEvent.objects.filter(topic=indexing.SYNC_TOPIC).exists()
    assert ("post", post.pk) in sent


def test_handling_the_same_event_twice_changes_nothing(world, commit):
    from search.models import SearchDocument

    post = world.posts["everyone"]
    event = OutboxEvent(topic="post.updated", object_id=post.pk, payload={})
    before = list(SearchDocument.objects.order_by("id").values())
    indexing.handle_event(event)
    indexing.handle_event(event)
    after = list(SearchDocument.objects.order_by("id").values())
    strip = [{k: v for k, v in row.items() if k != "updated"} for row in before]
    assert strip == [{k: v for k, v in row.items() if k != "updated"} for row in after]


def test_unknown_topics_and_vanished_objects_are_harmless(world):
    indexing.handle_event(OutboxEvent(topic="reaction.changed", object_id=1, payload={}))
    indexing.handle_event(OutboxEvent(topic="post.created", object_id=999_999, payload={}))
    indexing.handle_event(OutboxEvent(topic="comment.deleted", object_id=999_999, payload={}))
    indexing.handle_event(
        OutboxEvent(topic=indexing.SYNC_TOPIC, object_id=0, payload={"keys": ["bad", "post-x"]})
    )
