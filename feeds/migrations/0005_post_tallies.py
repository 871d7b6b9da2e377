"""Post.comment_count, reaction_tally and tag_rows, kept by triggers (PostgreSQL and SQLite).

A feed page used to count each post's comments and reactions and gather its hashtags in three
sub-queries per row; they are now columns of the post, which the database keeps true whatever
writes the rows (the actions, the admin, cascades, bulk loads). Counts change by one in place
(`count = count + 1`), which stays right when two transactions add to the same post at once;
the hashtags, written with the post by its author, are gathered again. `backfill()` sets all
three from the rows (this migration, and bench/generate.py after loading without triggers).
"""

from django.db import migrations, models

_POSTGRESQL = [
    """
    CREATE FUNCTION feeds_comment_tally() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' AND OLD.deleted IS NULL THEN
            UPDATE feeds_post SET comment_count = comment_count - 1 WHERE id = OLD.post_id;
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.deleted IS NULL THEN
            UPDATE feeds_post SET comment_count = comment_count + 1 WHERE id = NEW.post_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER feeds_comment_tally AFTER INSERT OR DELETE OR UPDATE OF post_id, deleted
    ON feeds_comment FOR EACH ROW EXECUTE FUNCTION feeds_comment_tally()
    """,
    """
    CREATE FUNCTION feeds_reaction_tally() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            UPDATE feeds_post SET reaction_tally = jsonb_set(
                COALESCE(reaction_tally, '{}'), ARRAY[OLD.kind],
                to_jsonb(COALESCE((reaction_tally ->> OLD.kind)::int, 0) - 1))
            WHERE id = OLD.post_id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            UPDATE feeds_post SET reaction_tally = jsonb_set(
                COALESCE(reaction_tally, '{}'), ARRAY[NEW.kind],
                to_jsonb(COALESCE((reaction_tally ->> NEW.kind)::int, 0) + 1))
            WHERE id = NEW.post_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER feeds_reaction_tally AFTER INSERT OR DELETE OR UPDATE OF post_id, kind
    ON feeds_reaction FOR EACH ROW EXECUTE FUNCTION feeds_reaction_tally()
    """,
    """
    CREATE FUNCTION feeds_tag_rows_of(post bigint) RETURNS void LANGUAGE sql AS $$
        UPDATE feeds_post SET tag_rows = (
            SELECT jsonb_agg(jsonb_build_object('id', h.id, 'name', h.name) ORDER BY h.name)
            FROM feeds_post_hashtags t JOIN feeds_hashtag h ON h.id = t.hashtag_id
            WHERE t.post_id = post)
        WHERE id = post
    $$
    """,
    """
    CREATE FUNCTION feeds_post_tag_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'DELETE' THEN
            PERFORM feeds_tag_rows_of(NEW.post_id);
        END IF;
        IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR OLD.post_id <> NEW.post_id) THEN
            PERFORM feeds_tag_rows_of(OLD.post_id);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER feeds_post_tag_rows AFTER INSERT OR DELETE OR UPDATE
    ON feeds_post_hashtags FOR EACH ROW EXECUTE FUNCTION feeds_post_tag_rows()
    """,
    """
    CREATE FUNCTION feeds_hashtag_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM feeds_tag_rows_of(t.post_id) FROM feeds_post_hashtags t
        WHERE t.hashtag_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER feeds_hashtag_renamed AFTER UPDATE OF name ON feeds_hashtag
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION feeds_hashtag_renamed()
    """,
]
_POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS feeds_hashtag_renamed ON feeds_hashtag",
    "DROP TRIGGER IF EXISTS feeds_post_tag_rows ON feeds_post_hashtags",
    "DROP TRIGGER IF EXISTS feeds_reaction_tally ON feeds_reaction",
    "DROP TRIGGER IF EXISTS feeds_comment_tally ON feeds_comment",
    "DROP FUNCTION IF EXISTS feeds_hashtag_renamed()",
    "DROP FUNCTION IF EXISTS feeds_post_tag_rows()",
    "DROP FUNCTION IF EXISTS feeds_tag_rows_of(bigint)",
    "DROP FUNCTION IF EXISTS feeds_reaction_tally()",
    "DROP FUNCTION IF EXISTS feeds_comment_tally()",
]
_POSTGRESQL_BACKFILL = [
    """
    UPDATE feeds_post p SET comment_count = c.n
    FROM (SELECT post_id, count(*) AS n FROM feeds_comment WHERE deleted IS NULL
          GROUP BY post_id) c
    WHERE c.post_id = p.id
    """,
    """
    UPDATE feeds_post p SET reaction_tally = r.tally
    FROM (SELECT post_id, jsonb_object_agg(kind, n) AS tally
          FROM (SELECT post_id, kind, count(*) AS n FROM feeds_reaction
                GROUP BY post_id, kind) k
          GROUP BY post_id) r
    WHERE r.post_id = p.id
    """,
    """
    UPDATE feeds_post p SET tag_rows = g.tags
    FROM (SELECT t.post_id,
                 jsonb_agg(jsonb_build_object('id', h.id, 'name', h.name) ORDER BY h.name)
                     AS tags
          FROM feeds_post_hashtags t JOIN feeds_hashtag h ON h.id = t.hashtag_id
          GROUP BY t.post_id) g
    WHERE g.post_id = p.id
    """,
]

# SQLite: the same, as one trigger per event (no functions); rows ordered by name in a
# sub-select, which json_group_array keeps.
_SQLITE_TAGS_OF = """
    UPDATE feeds_post SET tag_rows = (
        SELECT json_group_array(json_object('id', id, 'name', name)) FROM (
            SELECT h.id, h.name FROM feeds_post_hashtags t
            JOIN feeds_hashtag h ON h.id = t.hashtag_id
            WHERE t.post_id = {post} ORDER BY h.name))
    WHERE id = {post}
"""
_SQLITE_TALLY = """
    UPDATE feeds_post SET reaction_tally = json_set(
        COALESCE(reaction_tally, '{{}}'), '$.' || {row}.kind,
        COALESCE(json_extract(reaction_tally, '$.' || {row}.kind), 0) {sign} 1)
    WHERE id = {row}.post_id
"""
_SQLITE = [
    """
    CREATE TRIGGER feeds_comment_tally_insert AFTER INSERT ON feeds_comment
    WHEN NEW.deleted IS NULL BEGIN
        UPDATE feeds_post SET comment_count = comment_count + 1 WHERE id = NEW.post_id;
    END
    """,
    """
    CREATE TRIGGER feeds_comment_tally_delete AFTER DELETE ON feeds_comment
    WHEN OLD.deleted IS NULL BEGIN
        UPDATE feeds_post SET comment_count = comment_count - 1 WHERE id = OLD.post_id;
    END
    """,
    """
    CREATE TRIGGER feeds_comment_tally_update AFTER UPDATE OF post_id, deleted ON feeds_comment
    BEGIN
        UPDATE feeds_post SET comment_count = comment_count - 1
        WHERE id = OLD.post_id AND OLD.deleted IS NULL;
        UPDATE feeds_post SET comment_count = comment_count + 1
        WHERE id = NEW.post_id AND NEW.deleted IS NULL;
    END
    """,
    f"""
    CREATE TRIGGER feeds_reaction_tally_insert AFTER INSERT ON feeds_reaction BEGIN
        {_SQLITE_TALLY.format(row="NEW", sign="+")};
    END
    """,
    f"""
    CREATE TRIGGER feeds_reaction_tally_delete AFTER DELETE ON feeds_reaction BEGIN
        {_SQLITE_TALLY.format(row="OLD", sign="-")};
    END
    """,
    f"""
    CREATE TRIGGER feeds_reaction_tally_update AFTER UPDATE OF post_id, kind ON feeds_reaction
    BEGIN
        {_SQLITE_TALLY.format(row="OLD", sign="-")};
        {_SQLITE_TALLY.format(row="NEW", sign="+")};
    END
    """,
    f"""
    CREATE TRIGGER feeds_post_tag_rows_insert AFTER INSERT ON feeds_post_hashtags BEGIN
        {_SQLITE_TAGS_OF.format(post="NEW.post_id")};
    END
    """,
    f"""
    CREATE TRIGGER feeds_post_tag_rows_delete AFTER DELETE ON feeds_post_hashtags BEGIN
        {_SQLITE_TAGS_OF.format(post="OLD.post_id")};
    END
    """,
    f"""
    CREATE TRIGGER feeds_post_tag_rows_update AFTER UPDATE ON feeds_post_hashtags BEGIN
        {_SQLITE_TAGS_OF.format(post="OLD.post_id")};
        {_SQLITE_TAGS_OF.format(post="NEW.post_id")};
    END
    """,
    f"""
    CREATE TRIGGER feeds_hashtag_renamed AFTER UPDATE OF name ON feeds_hashtag
    WHEN OLD.name IS NOT NEW.name BEGIN
        {_SQLITE_TAGS_OF.format(post="feeds_post.id")
         .replace("WHERE id = feeds_post.id",
                  "WHERE id IN (SELECT post_id FROM feeds_post_hashtags "
                  "WHERE hashtag_id = NEW.id)")};
    END
    """,
]
_SQLITE_TRIGGERS = (
    "feeds_comment_tally_insert", "feeds_comment_tally_delete", "feeds_comment_tally_update",
    "feeds_reaction_tally_insert", "feeds_reaction_tally_delete", "feeds_reaction_tally_update",
    "feeds_post_tag_rows_insert", "feeds_post_tag_rows_delete", "feeds_post_tag_rows_update",
    "feeds_hashtag_renamed",
)  # fmt: skip
_SQLITE_BACKFILL = [
    """
    UPDATE feeds_post SET comment_count = (
        SELECT count(*) FROM feeds_comment c WHERE c.post_id = feeds_post.id
        AND c.deleted IS NULL)
    """,
    """
    UPDATE feeds_post SET reaction_tally = (
        SELECT json_group_object(kind, n) FROM (
            SELECT kind, count(*) AS n FROM feeds_reaction r
            WHERE r.post_id = feeds_post.id GROUP BY kind))
    WHERE EXISTS (SELECT 1 FROM feeds_reaction r WHERE r.post_id = feeds_post.id)
    """,
    _SQLITE_TAGS_OF.format(post="feeds_post.id").replace(
        "WHERE id = feeds_post.id",
        "WHERE EXISTS (SELECT 1 FROM feeds_post_hashtags t WHERE t.post_id = feeds_post.id)",
    ),
]


def backfill(connection) -> None:
    """Set every post's tallies from its comments, reactions and hashtags."""
    statements = _POSTGRESQL_BACKFILL if connection.vendor == "postgresql" else _SQLITE_BACKFILL
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):  # pragma: no cover - the two we run on
        raise NotImplementedError(f"Post tallies need triggers written for {vendor}")
    for sql in _POSTGRESQL if vendor == "postgresql" else _SQLITE:
        schema_editor.execute(sql)
    backfill(schema_editor.connection)


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        statements = _POSTGRESQL_DROP
    else:
        statements = [f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_TRIGGERS]
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0004_idempotency_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="comment_count",
            field=models.PositiveIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddField(
            model_name="post",
            name="reaction_tally",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="post",
            name="tag_rows",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(_create, _drop),
    ]
