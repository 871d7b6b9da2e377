"""The full-text structures, which differ by database.

PostgreSQL: a GIN index on the weighted tsvector column `vector`, a small partial one over
people and groups only (so a search of the directory never reads the posts' postings), and a
BRIN index on id, which turns "ids in this window" into a bitmap for almost nothing (ids
follow the table's physical order), so a GIN search can be confined to a time window.
SQLite: an FTS5 table over the documents' text (external content: the text is stored once,
in search_searchdocument), kept in step by triggers, tokenised with Porter stemming when the
search language is English. Its `kind` column lets a query keep to people or groups; user
words are matched in the other columns only. `manage.py search_reindex` recreates the table
if the language setting changes.
"""

from django.conf import settings
from django.db import migrations

FTS_COLUMNS = "kind, title, tags, body, context"


def sqlite_fts_sql(tokenizer: str) -> list[str]:
    new = "new.id, new.kind, new.title, new.tags, new.body, new.context"
    old = "old.id, old.kind, old.title, old.tags, old.body, old.context"
    return [
        f"CREATE VIRTUAL TABLE search_fts USING fts5({FTS_COLUMNS}, "
        f"content='search_searchdocument', content_rowid='id', tokenize='{tokenizer}')",
        "CREATE TRIGGER search_fts_insert AFTER INSERT ON search_searchdocument BEGIN "
        f"INSERT INTO search_fts(rowid, {FTS_COLUMNS}) VALUES ({new}); END",
        "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_searchdocument BEGIN "
        f"INSERT INTO search_fts(search_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', {old}); END",
        "CREATE TRIGGER search_fts_update AFTER UPDATE OF title, tags, body, context "
        "ON search_searchdocument BEGIN "
        f"INSERT INTO search_fts(search_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', {old}); "
        f"INSERT INTO search_fts(rowid, {FTS_COLUMNS}) VALUES ({new}); END",
    ]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX search_doc_vector ON search_searchdocument USING gin (vector)"
        )
        schema_editor.execute(
            "CREATE INDEX search_doc_vector_directory ON search_searchdocument "
            "USING gin (vector) WHERE kind IN ('person', 'group')"
        )
        schema_editor.execute(
            "CREATE INDEX search_doc_id_brin ON search_searchdocument "
            "USING brin (id) WITH (autosummarize = on)"
        )
    elif vendor == "sqlite":
        language = getattr(settings, "SEARCH_LANGUAGE", "english") or "english"
        tokenizer = "unicode61 remove_diacritics 2"
        if language == "english":
            tokenizer = f"porter {tokenizer}"
        for statement in sqlite_fts_sql(tokenizer):
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_doc_id_brin")
        schema_editor.execute("DROP INDEX IF EXISTS search_doc_vector_directory")
        schema_editor.execute("DROP INDEX IF EXISTS search_doc_vector")
    elif vendor == "sqlite":
        for trigger in ("search_fts_insert", "search_fts_delete", "search_fts_update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        schema_editor.execute("DROP TABLE IF EXISTS search_fts")


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_document")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
