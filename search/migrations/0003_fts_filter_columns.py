"""SQLite: the FTS5 table gets the documents' agency, group and author ids as columns.

A search with words and an agency (or group, or author) filter then asks FTS5 for the
filter's token too, and FTS5 merges both doclists newest first instead of the database
reading every match of the words to find its agency (search/backends/sqlite.py). The table
is made again with the tokenizer it had, and filled from the documents ('rebuild'); the
update trigger also follows changes of the new columns. PostgreSQL: nothing changes.
"""

import re

from django.db import migrations

OLD_COLUMNS = "kind, title, tags, body, context"
NEW_COLUMNS = "kind, title, tags, body, context, agency_id, group_id, author_id"
TRIGGERS = ("search_fts_insert", "search_fts_delete", "search_fts_update")


def _schema(columns: str, tokenizer: str, update_of: str) -> list[str]:
    new = ", ".join(f"new.{c}" for c in ("id", *columns.split(", ")))
    old = ", ".join(f"old.{c}" for c in ("id", *columns.split(", ")))
    return [
        f"CREATE VIRTUAL TABLE search_fts USING fts5({columns}, "
        f"content='search_searchdocument', content_rowid='id', tokenize='{tokenizer}')",
        "CREATE TRIGGER search_fts_insert AFTER INSERT ON search_searchdocument BEGIN "
        f"INSERT INTO search_fts(rowid, {columns}) VALUES ({new}); END",
        "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_searchdocument BEGIN "
        f"INSERT INTO search_fts(search_fts, rowid, {columns}) VALUES ('delete', {old}); END",
        f"CREATE TRIGGER search_fts_update AFTER UPDATE OF {update_of} "
        "ON search_searchdocument BEGIN "
        f"INSERT INTO search_fts(search_fts, rowid, {columns}) VALUES ('delete', {old}); "
        f"INSERT INTO search_fts(rowid, {columns}) VALUES ({new}); END",
        "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
    ]


def _remake(schema_editor, columns: str, update_of: str) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'search_fts'")
        row = cursor.fetchone()
    found = re.search(r"tokenize\s*=\s*'([^']*)'", row[0]) if row else None
    tokenizer = found.group(1) if found else "porter unicode61 remove_diacritics 2"
    for trigger in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    schema_editor.execute("DROP TABLE IF EXISTS search_fts")
    for statement in _schema(columns, tokenizer, update_of):
        schema_editor.execute(statement)


def forwards(apps, schema_editor):
    _remake(schema_editor, NEW_COLUMNS, NEW_COLUMNS)


def backwards(apps, schema_editor):
    _remake(schema_editor, OLD_COLUMNS, "title, tags, body, context")


class Migration(migrations.Migration):
    dependencies = [("search", "0002_full_text_index")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
