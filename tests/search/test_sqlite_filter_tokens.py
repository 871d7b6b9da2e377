"""SQLite: the agency, group and author filters are also asked of FTS5, as tokens of the
documents' id columns (search/backends/sqlite.py, FILTER_COLUMNS; migration 0003). FTS5 then
merges the word's and the filter's doclists; the SQL filter still decides. The pages and
counts must be exactly those of the SQL filter alone, and the index must follow every write.
"""

from __future__ import annotations

import importlib
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feeds import actions as feed_actions
from groups import actions as group_actions
from search.backends import database_backend, sqlite
from search.models import SearchDocument

from .helpers import only_on, request

pytestmark = only_on("sqlite", "SQLite's FTS5 table")


@pytest.fixture
def backend():
    return "database"


@pytest.fixture
def herons(world, commit):
    """Posts and comments with one word, by three people of two agencies, in and out of
    groups (with the world's own posts around them)."""
    group_actions.join_group(group=world.open_group, user=world.bob)
    places = [
        {},
        {"audience": "group", "group": world.open_group},
        {"audience": "agency"},
        {"audience": "group", "group": world.private_group},
    ]
    for i, (author, place) in enumerate(itertools.product([world.alice, world.bob], places)):
        if place.get("group") == world.private_group and author != world.alice:
            continue
        post = commit(feed_actions.create_post, author=author, body=f"heron count {i}", **place)
        commit(feed_actions.add_comment, post=post, author=world.alice, body=f"heron note {i}")
    commit(feed_actions.create_post, author=world.carol, body="heron sighting elsewhere")
    return world


def _everything(viewer, **options):
    """Every page (2 hits each) and the first page's counts."""
    backend, seen, after, counts = database_backend(), [], None, None
    while True:
        page = backend.search(
            request("heron", limit=2, after=after, with_counts=after is None, **options),
            viewer=viewer,
        )
        counts = counts if after is not None else page.counts
        seen += [(h.kind, h.object_id) for h in page.hits]
        if not page.has_more:
            return seen, counts
        after = page.hits[-1].seq


def _filters(world):
    yield {"agency_id": world.agency_a.pk}
    yield {"agency_id": world.agency_b.pk}
    yield {"group_id": world.open_group.pk}
    yield {"group_id": world.private_group.pk}
    for person in (world.alice, world.bob, world.carol):
        yield {"author_id": person.pk}
    yield {"agency_id": world.agency_a.pk, "author_id": world.bob.pk}


def test_filtered_pages_and_counts_are_what_the_sql_filter_alone_gives(herons, monkeypatch):
    world = herons
    for viewer, filters in itertools.product(
        [world.alice, world.bob, world.carol], _filters(world)
    ):
        with_tokens = _everything(viewer, **filters)
        monkeypatch.setattr(sqlite, "FILTER_COLUMNS", ())
        without = _everything(viewer, **filters)
        monkeypatch.undo()
        assert with_tokens == without, (viewer, filters)
    # the cases above are not all empty
    assert _everything(world.alice, agency_id=world.agency_a.pk)[0]
    assert _everything(world.bob, group_id=world.open_group.pk)[0]


def test_the_filter_is_asked_of_fts5(herons):
    world = herons
    with CaptureQueriesContext(connection) as queries:
        database_backend().search(
            request("heron", agency_id=world.agency_a.pk, limit=2, with_counts=True),
            viewer=world.alice,
        )
    matches = [q["sql"] for q in queries.captured_queries if "MATCH" in q["sql"]]
    assert len(matches) == 2  # the page, and the count of the older matches
    assert all(f'agency_id : "{world.agency_a.pk}"' in sql for sql in matches), matches


def _fts_ids(expression: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rowid FROM search_fts WHERE search_fts MATCH %s", [expression])
        return {row[0] for row in cursor.fetchall()}


def _integrity_check() -> None:
    """FTS5 compares its index with the documents' table; raises if they differ."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)")


def test_each_filter_column_holds_the_documents_id(herons):
    _integrity_check()
    for column in sqlite.FILTER_COLUMNS:
        values = set(
            SearchDocument.objects.exclude(**{column: None}).values_list(column, flat=True)
        )
        assert values
        for value in values:
            expected = set(
                SearchDocument.objects.filter(**{column: value}).values_list("pk", flat=True)
            )
            assert _fts_ids(f'{column} : "{value}"') == expected, (column, value)


def test_the_index_follows_a_document_whose_filter_columns_change(herons):
    world = herons
    document = SearchDocument.objects.filter(kind="post", agency_id=world.agency_a.pk).first()
    SearchDocument.objects.filter(pk=document.pk).update(
        agency_id=world.agency_b.pk, author_id=world.carol.pk
    )
    _integrity_check()
    assert document.pk in _fts_ids(f'agency_id : "{world.agency_b.pk}"')
    assert document.pk not in _fts_ids(f'agency_id : "{world.agency_a.pk}"')
    assert document.pk in _fts_ids(f'author_id : "{world.carol.pk}"')
    SearchDocument.objects.filter(pk=document.pk).delete()
    _integrity_check()


class _SchemaEditor:
    """What a RunPython function of these migrations uses of Django's schema editor."""

    connection = connection

    def execute(self, sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)


def _table_sql() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'search_fts'")
        return cursor.fetchone()[0]


def test_migration_0003_remakes_the_index_with_the_documents_and_its_tokenizer(herons):
    """From the table of migration 0002 (five columns), with documents in it: afterwards the
    filter columns answer, the index matches the table, and the tokenizer is the one it had."""
    before = importlib.import_module("search.migrations.0002_full_text_index")
    after = importlib.import_module("search.migrations.0003_fts_filter_columns")
    tokenizer = re.search(r"tokenize='[^']*'", _table_sql()).group(0)
    editor = _SchemaEditor()
    after.backwards(None, editor)  # back to 0002's table, filled from the documents
    _integrity_check()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM search_fts LIMIT 0")
        assert [c[0] for c in cursor.description] == before.FTS_COLUMNS.split(", ")
    words = _fts_ids("heron")
    assert words
    after.forwards(None, editor)
    _integrity_check()
    assert _fts_ids("heron") == words
    assert _fts_ids(f'agency_id : "{herons.agency_a.pk}"') == set(
        SearchDocument.objects.filter(agency_id=herons.agency_a.pk).values_list("pk", flat=True)
    )
    assert tokenizer in _table_sql()
    assert [c.strip() for c in sqlite.FTS_COLUMNS.split(",")] == after.NEW_COLUMNS.split(", ")
