"""`manage.py search_reindex` rebuilds the index from the database."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from search import backends
from search.models import SearchDocument

from .helpers import post_ids

pytestmark = pytest.mark.django_db


def test_reindex_rebuilds_everything_in_time_order(world):
    before = {(d.kind, d.object_id) for d in SearchDocument.objects.all()}
    SearchDocument.objects.all().delete()
    assert post_ids(world.carol, "kingfisher") == set()
    out = io.StringIO()
    call_command("search_reindex", "--no-progress", stdout=out)
    assert "documents/s" in out.getvalue()
    after = list(SearchDocument.objects.order_by("id"))
    assert {(d.kind, d.object_id) for d in after} == before
    created = [d.created for d in after]
    assert created == sorted(created), "ids follow time, so newest first is by id"
    assert post_ids(world.carol, "kingfisher") == {world.posts["everyone"].pk}
    assert post_ids(world.carol, "osprey") == set()


def test_reindex_applies_a_new_search_language(world, settings):
    heron = world.posts["open"].pk  # "The heron dataset is out"
    assert post_ids(world.carol, "datasets") == {heron}  # English: stemmed
    settings.SEARCH_LANGUAGE = "simple"  # no stemming
    call_command("search_reindex", "--no-progress", stdout=io.StringIO())
    assert post_ids(world.carol, "datasets") == set()
    assert post_ids(world.carol, "dataset") == {heron}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'search_fts'")
            assert "porter" not in cursor.fetchone()[0]
    settings.SEARCH_LANGUAGE = "english"
    call_command("search_reindex", "--no-progress", stdout=io.StringIO())
    assert post_ids(world.carol, "datasets") == {heron}


def test_reindex_with_elasticsearch_down_says_so_and_keeps_the_database_index(world, settings):
    settings.SEARCH_BACKEND = "elasticsearch"
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:1"
    backends._elasticsearch.clear()
    try:
        with pytest.raises(CommandError, match="Elasticsearch"):
            call_command("search_reindex", "--no-progress", stdout=io.StringIO())
        assert SearchDocument.objects.filter(kind="post").count() == 5
    finally:
        backends._elasticsearch.clear()


def test_options_that_contradict_each_other_are_refused():
    with pytest.raises(CommandError):
        call_command("search_reindex", "--database-only", "--elasticsearch-only")
