"""A seeded network at the scale issue's size, for benchmarks (PostgreSQL or SQLite).

    .venv/bin/python bench/generate.py --database-url postgres://postgres@127.0.0.1:5432/agora_bench
    .venv/bin/python bench/generate.py --database-url sqlite:///var/bench.sqlite3 --posts 100000

Default size: 10,000 staff in 40 agencies (2% of them deactivated), 200,000 follow edges
skewed towards popular people, 500 groups (open, private, secret) of 5 to 2,000 members,
and 1,000,000 posts over two years with comments (~0.6 per post), reactions (~1.5 per post),
mentions and hashtags. Every size has a flag (`--posts N`, `--staff N`, ...) to scale down.
The same seed gives the same rows on every database. Rows go in with COPY on PostgreSQL and
`executemany` on SQLite, ids in time order (as the application writes them). The database is
migrated first; an existing network is kept unless `--reset` is given.

Post bodies are words drawn from a Zipf distribution over 50,000 made-up words (so every
document frequency from 90% down to 0.003% exists), plus planted two-word phrases at known
frequencies (`PHRASES`), hashtags and @mentions. `bench/search.py` picks its query terms from
these. Post HTML is the escaped text in a paragraph (the Markdown renderer would triple the
generation time and changes nothing that a benchmark reads).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import itertools
import math
import os
import random
import sys
import time
from bisect import bisect
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SEED = 2026
VOCABULARY_SIZE = 50_000
ZIPF_S = 1.0
# Planted phrases: (band name, fraction of posts containing the phrase).
BANDS = [("0.01%", 0.0001), ("0.1%", 0.001), ("1%", 0.01), ("3%", 0.03), ("10%", 0.10)]
PHRASES_PER_BAND = 3
REACTION_KINDS = ["like", "celebrate", "support", "insightful", "thanks"]
JOB_TITLES = [
    "Policy Adviser", "Senior Analyst", "Data Scientist", "Service Designer", "Head of Unit",
    "Procurement Officer", "Programme Manager", "Statistician", "Inspector", "Legal Adviser",
    "Developer", "User Researcher", "Communications Officer", "Economist", "Project Officer",
]  # fmt: skip
FIRST = (
    "Ana Ben Chloe David Elif Farid Greta Hugo Ines Jonas Karin Lea Malik Nora Omar Paula "
    "Quentin Rosa Sami Tara Ugo Vera Wim Xenia Yusuf Zoe Aino Bruno Carla Dmitri Emma Felix "
    "Giulia Hana Ivan Julia Kofi Lina Marco Nadia"
).split()
LAST = (
    "Martin Novak Dubois Costa Jensen Rossi Schmidt Moreau Haddad Lindqvist Kowalski Nagy "
    "Fischer Laurent Silva Okafor Petrov Romero Tanaka Virtanen Weber Yilmaz Zeller Bernard "
    "Ferreira Horvat Janssen Keller Leroy Mendes"
).split()


# --- the made-up language ----------------------------------------------------------------------

_CONSONANTS = "bdfgklmnprtvz"
_VOWELS = "aeiou"


@functools.lru_cache(maxsize=8)
def made_up_words(count: int, *, seed: int) -> list[str]:
    """`count` distinct pronounceable words ending in -Ca or -Co.

    Those endings survive the English (Porter) stemmers of PostgreSQL and SQLite unchanged,
    so one word is one lexeme on both databases and frequencies are comparable.
    """
    rng = random.Random(seed)
    syllables = [c + v for c in _CONSONANTS for v in _VOWELS]
    endings = [c + v for c in _CONSONANTS for v in "ao"]
    seen: set[str] = set()
    words: list[str] = []
    while len(words) < count:
        n = 1 + int(rng.random() * 3)
        word = "".join(rng.choices(syllables, k=n)) + endings[int(rng.random() * len(endings))]
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


@functools.lru_cache(maxsize=1)
def vocabulary() -> list[str]:
    """The Zipf vocabulary, most frequent first (rank r has probability ∝ 1/r)."""
    return made_up_words(VOCABULARY_SIZE, seed=SEED)


@functools.lru_cache(maxsize=1)
def phrases() -> dict[str, list[str]]:
    """Planted two-word phrases per band; their words appear nowhere else in the vocabulary."""
    taken = set(vocabulary())
    extra = [w for w in made_up_words(VOCABULARY_SIZE + 200, seed=SEED + 1) if w not in taken]
    out: dict[str, list[str]] = {}
    for i, (band, _fraction) in enumerate(BANDS):
        out[band] = [
            f"{extra[2 * (i * PHRASES_PER_BAND + j)]} {extra[2 * (i * PHRASES_PER_BAND + j) + 1]}"
            for j in range(PHRASES_PER_BAND)
        ]
    return out


def hashtag_names(count: int) -> list[str]:
    words = made_up_words(count, seed=SEED + 2)
    return [f"t{w}" for w in words]


def expected_document_frequency(rank: int, words_per_post: float = 27.5) -> float:
    """Zipf(s=1) over the vocabulary: the expected share of posts containing word `rank`."""
    harmonic = sum(1 / r for r in range(1, VOCABULARY_SIZE + 1))
    p = 1 / (rank**ZIPF_S * harmonic)
    return 1 - (1 - p) ** words_per_post


# --- writing rows ------------------------------------------------------------------------------


class Writer:
    """Buffered inserts into one table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, connection, table: str, columns: list[str], chunk: int = 20_000):
        self.connection = connection
        self.table = table
        self.columns = columns
        self.rows: list[tuple] = []
        self.chunk = chunk
        self.count = 0
        self.vendor = connection.vendor

    def add(self, *row) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        raw = self.connection.connection
        if self.vendor == "postgresql":
            cols = ", ".join(self.columns)
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY {self.table} ({cols}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in self.columns)
            cols = ", ".join(self.columns)
            adapt = self.connection.ops.adapt_datetimefield_value
            rows = [
                tuple(adapt(v) if isinstance(v, datetime) else v for v in row) for row in self.rows
            ]
            raw.executemany(f"INSERT INTO {self.table} ({cols}) VALUES ({marks})", rows)
        self.count += len(self.rows)
        self.rows.clear()


def reset_sequences(connection, tables: list[str]) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows the largest explicit id by itself
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )


# --- the network -------------------------------------------------------------------------------


class Generator:
    def __init__(self, connection, args, rng: random.Random):
        self.c = connection
        self.args = args
        self.rng = rng
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.start = self.now - timedelta(days=730)

    def w(self, table: str, columns: str) -> Writer:
        return Writer(self.c, table, columns.split())

    def run(self) -> dict[str, int]:
        a = self.args
        counts: dict[str, int] = {}
        self.agencies(a.agencies)
        self.users(a.staff)
        counts["staff"] = a.staff
        counts["follows"] = self.follows(a.follows)
        counts["groups"], counts["memberships"] = self.groups(a.groups)
        posts, comments, reactions, mentions, tags = self.posts(a.posts)
        counts.update(
            posts=posts, comments=comments, reactions=reactions, mentions=mentions, post_tags=tags
        )
        reset_sequences(
            self.c,
            [
                "auth_user", "profiles_agency", "profiles_department", "profiles_expertisetag",
                "profiles_profile", "profiles_profile_expertise", "profiles_follow",
                "groups_group", "groups_membership", "feeds_hashtag", "feeds_post",
                "feeds_post_hashtags", "feeds_comment", "feeds_reaction", "feeds_mention",
            ],
        )  # fmt: skip
        return counts

    def agencies(self, n: int) -> None:
        agencies = self.w("profiles_agency", "id name short_name slug")
        departments = self.w("profiles_department", "id agency_id parent_id name")
        self.department_of: dict[int, list[int]] = {}
        dep_id = 0
        for i in range(1, n + 1):
            agencies.add(i, f"Agency {i:02d} of the Public Service", f"A{i:02d}", f"agency-{i:02d}")
            self.department_of[i] = []
            for j in range(6):
                dep_id += 1
                departments.add(dep_id, i, None, f"Directorate {j + 1}")
                self.department_of[i].append(dep_id)
        agencies.flush()
        departments.flush()
        tags = self.w("profiles_expertisetag", "id name")
        self.expertise = made_up_words(300, seed=SEED + 3)
        for i, name in enumerate(self.expertise, start=1):
            tags.add(i, f"skill {name}")
        tags.flush()
        self.n_agencies = n

    def users(self, n: int) -> None:
        rng = self.rng
        users = self.w(
            "auth_user",
            "id password last_login is_superuser username first_name last_name email "
            "is_staff is_active date_joined",
        )
        profiles = self.w(
            "profiles_profile",
            "id user_id display_name job_title agency_id department_id location bio languages "
            "avatar phone manager_id preferred_language",
        )
        expertise = self.w("profiles_profile_expertise", "profile_id expertisetag_id")
        self.agency_of: list[int] = [0] * (n + 1)
        self.active: list[bool] = [False] * (n + 1)
        self.usernames: list[str] = [""] * (n + 1)
        for uid in range(1, n + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            username = f"{first}.{last}{uid}".lower()
            agency = 1 + (uid * 7919) % self.n_agencies
            active = rng.random() >= 0.02
            joined = self.start - timedelta(days=rng.randint(1, 3000))
            users.add(
                uid, "!", None, False, username, first, last, f"{username}@example.gov",
                uid % 500 == 1, active, joined,
            )  # fmt: skip
            profiles.add(
                uid, uid, f"{first} {last}", rng.choice(JOB_TITLES), agency,
                rng.choice(self.department_of[agency]), "Brussels", "", "English", "", "",
                None, "",
            )  # fmt: skip
            for tag in rng.sample(range(1, len(self.expertise) + 1), k=rng.randint(1, 4)):
                expertise.add(uid, tag)
            self.agency_of[uid] = agency
            self.active[uid] = active
            self.usernames[uid] = username
        for writer in (users, profiles, expertise):
            writer.flush()
        self.n_users = n
        # Authors are skewed: a few write a lot (weight ∝ 1/rank^0.7).
        order = list(range(1, n + 1))
        rng.shuffle(order)
        self.author_pool = order
        self.author_cw = list(itertools.accumulate(1 / (r**0.7) for r in range(1, n + 1)))

    def pick_author(self) -> int:
        i = bisect(self.author_cw, self.rng.random() * self.author_cw[-1])
        return self.author_pool[min(i, len(self.author_pool) - 1)]

    def follows(self, n: int) -> int:
        rng = self.rng
        writer = self.w("profiles_follow", "id follower_id followee_id created")
        popular = list(range(1, self.n_users + 1))
        rng.shuffle(popular)
        cw = list(itertools.accumulate(1 / (r**0.9) for r in range(1, self.n_users + 1)))
        seen: set[tuple[int, int]] = set()
        fid = 0
        attempts = 0
        while fid < n and attempts < n * 3:
            attempts += 1
            follower = rng.randint(1, self.n_users)
            followee = popular[min(bisect(cw, rng.random() * cw[-1]), self.n_users - 1)]
            if follower == followee or (follower, followee) in seen:
                continue
            seen.add((follower, followee))
            fid += 1
            writer.add(fid, follower, followee, self.start + timedelta(seconds=fid))
        writer.flush()
        return fid

    def groups(self, n: int) -> tuple[int, int]:
        rng = self.rng
        groups = self.w("groups_group", "id name slug description kind created_by_id created")
        members = self.w("groups_membership", "id group_id user_id role created")
        self.group_kind: dict[int, str] = {}
        self.group_members: dict[int, list[int]] = {}
        mid = 0
        words = made_up_words(n * 2, seed=SEED + 4)
        for gid in range(1, n + 1):
            roll = rng.random()
            kind = "open" if roll < 0.5 else "private" if roll < 0.85 else "secret"
            size = max(5, min(2000, int(rng.lognormvariate(math.log(60), 1.1))))
            size = min(size, self.n_users)
            owner = rng.randint(1, self.n_users)
            name = f"{words[2 * gid - 2].title()} {words[2 * gid - 1]} working group"
            groups.add(
                gid, name, f"group-{gid}", f"A {kind} group about {words[2 * gid - 1]}.", kind,
                owner, self.start - timedelta(days=rng.randint(1, 400)),
            )  # fmt: skip
            chosen = {owner, *rng.sample(range(1, self.n_users + 1), k=size - 1)}
            self.group_kind[gid] = kind
            self.group_members[gid] = sorted(chosen)
            for uid in self.group_members[gid]:
                mid += 1
                members.add(mid, gid, uid, "owner" if uid == owner else "member", self.start)
        groups.flush()
        members.flush()
        self.n_groups = n
        sizes = [len(self.group_members[g]) for g in range(1, n + 1)]
        self.group_cw = list(itertools.accumulate(math.sqrt(s) for s in sizes))
        return n, mid

    def posts(self, n: int) -> tuple[int, int, int, int, int]:
        rng = self.rng
        vocab = vocabulary()
        vocab_cw = list(itertools.accumulate(1 / (r**ZIPF_S) for r in range(1, len(vocab) + 1)))
        planted_phrases = phrases()
        planted = [
            (fraction, phrase) for (band, fraction) in BANDS for phrase in planted_phrases[band]
        ]
        tag_names = hashtag_names(2000)
        tag_cw = list(itertools.accumulate(1 / r for r in range(1, len(tag_names) + 1)))
        hashtags = self.w("feeds_hashtag", "id name")
        for i, name in enumerate(tag_names, start=1):
            hashtags.add(i, name)
        hashtags.flush()

        posts = self.w(
            "feeds_post",
            "id author_id body body_html audience agency_id group_id is_announcement created "
            "edited deleted deleted_by_id",
        )
        post_tags = self.w("feeds_post_hashtags", "post_id hashtag_id")
        mentions = self.w("feeds_mention", "id post_id comment_id user_id created")
        comments = self.w(
            "feeds_comment", "id post_id parent_id author_id body body_html created edited deleted"
        )
        reactions = self.w("feeds_reaction", "id post_id user_id kind created")
        step = (self.now - self.start) / max(n, 1)
        comment_id = reaction_id = mention_id = 0
        pending_comments: list[tuple] = []
        try:
            from tqdm import tqdm

            bar = tqdm(total=n, unit="post", desc="posts", mininterval=1.0)
        except ImportError:  # pragma: no cover - tqdm is a dependency
            bar = None
        for pid in range(1, n + 1):
            created = self.start + step * pid
            roll = rng.random()
            group_id = None
            if roll < 0.28:
                audience = "group"
                group_id = 1 + min(
                    bisect(self.group_cw, rng.random() * self.group_cw[-1]), self.n_groups - 1
                )
                author = rng.choice(self.group_members[group_id])
            else:
                audience = "agency" if roll < 0.40 else "everyone"
                author = self.pick_author()
            agency = self.agency_of[author]
            words = rng.choices(vocab, cum_weights=vocab_cw, k=rng.randint(5, 50))
            for fraction, phrase in planted:
                if rng.random() < fraction:
                    words.insert(rng.randint(0, len(words)), phrase)
                if rng.random() < fraction / 2:
                    first, second = phrase.split()
                    words.insert(rng.randint(0, len(words)), rng.choice([first, second]))
            post_tag_ids: set[int] = set()
            for _ in range(rng.choice((0, 0, 0, 1, 1, 2, 3))):
                post_tag_ids.add(1 + min(bisect(tag_cw, rng.random() * tag_cw[-1]), 1999))
            body = " ".join(words)
            if post_tag_ids:
                body += " " + " ".join(f"#{tag_names[t - 1]}" for t in sorted(post_tag_ids))
            mentioned = None
            if rng.random() < 0.08:
                mentioned = rng.randint(1, self.n_users)
                body += f" cc @{self.usernames[mentioned]}"
            deleted = created + timedelta(hours=1) if rng.random() < 0.01 else None
            posts.add(
                pid, author, body, f"<p>{escape(body)}</p>", audience,
                agency if audience != "group" else agency, group_id,
                audience == "everyone" and rng.random() < 0.002, created, None, deleted,
                author if deleted else None,
            )  # fmt: skip
            for t in sorted(post_tag_ids):
                post_tags.add(pid, t)
            if mentioned:
                mention_id += 1
                mentions.add(mention_id, pid, None, mentioned, created)
            readers = self.group_members[group_id] if group_id else None
            for k in range(rng.choice((0, 0, 0, 0, 1, 1, 1, 2, 3))):
                comment_id += 1
                commenter = rng.choice(readers) if readers else rng.randint(1, self.n_users)
                text = " ".join(rng.choices(vocab, cum_weights=vocab_cw, k=rng.randint(3, 25)))
                pending_comments.append(
                    (
                        comment_id, pid, None, commenter, text, f"<p>{escape(text)}</p>",
                        created + timedelta(minutes=5 * (k + 1)), None, None,
                    )
                )  # fmt: skip
            pool = readers or None
            for kind_index in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
                reaction_id += 1
                reacting = rng.choice(pool) if pool else rng.randint(1, self.n_users)
                reactions.add(
                    reaction_id, pid, reacting, REACTION_KINDS[kind_index],
                    created + timedelta(minutes=1),
                )  # fmt: skip
            if len(pending_comments) >= 20_000:
                # Comments are written after their posts (a foreign key on SQLite is immediate).
                posts.flush()
                for row in pending_comments:
                    comments.add(*row)
                pending_comments.clear()
            if bar is not None and pid % 10_000 == 0:
                bar.update(10_000)
        posts.flush()
        for row in pending_comments:
            comments.add(*row)
        for writer in (comments, post_tags, mentions, reactions):
            writer.flush()
        if bar is not None:
            bar.update(n - bar.n)
            bar.close()
        return posts.count, comments.count, reactions.count, mentions.count, post_tags.count


def main(argv: list[str] | None = None) -> dict[str, int]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--staff", type=int, default=10_000)
    parser.add_argument("--agencies", type=int, default=40)
    parser.add_argument("--follows", type=int, default=200_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--reset", action="store_true", help="empty the database first")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url (or DATABASE_URL): the benchmark's own database")
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")
    os.environ.setdefault("OUTBOX_CONSUMERS", "")
    sys.path.insert(0, str(ROOT))
    prepare_database(args.database_url, reset=args.reset)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from feeds.models import Post

    if Post.objects.exists():
        print(f"{Post.objects.count()} posts already there; use --reset to start again.")
        return {}
    started = time.perf_counter()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
    with transaction.atomic():
        untriggered = _without_triggers(connection)
        counts = Generator(connection, args, random.Random(args.seed)).run()
        # The posts' tallies (Post.comment_count), from the rows: on SQLite the triggers fired,
        # but rows reached the database in chunks of each table, not after their posts.
        importlib.import_module("feeds.migrations.0005_post_tallies").backfill(connection)
        if untriggered:
            with connection.cursor() as cursor:
                # Those updates moved most posts to new pages in no order: put them back in
                # id order, as they were written (a feed page reads the newest ids).
                cursor.execute("CLUSTER feeds_post USING feeds_post_pkey")
    with connection.cursor() as cursor:
        # PostgreSQL: VACUUM too, so that the visibility map is set and the feed's covering
        # index is read without visiting the table (a fresh data set without it read deep
        # pages 1.7x slower than page 1; autovacuum gets there only later).
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    elapsed = time.perf_counter() - started
    print(", ".join(f"{v:,} {k}" for k, v in counts.items()))
    print(f"generated in {elapsed:.0f} s")
    counts["seconds"] = round(elapsed)
    return counts


def _without_triggers(connection) -> bool:
    """On PostgreSQL, as a superuser, load this transaction's rows without firing triggers
    (the posts' tallies, kept row by row otherwise: Post.comment_count); True if so."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SET LOCAL session_replication_role = replica")
    return True


def prepare_database(url: str, *, reset: bool) -> None:
    """Create the PostgreSQL database if needed; with --reset, start from an empty one."""
    if url.startswith("sqlite"):
        path = Path(url.split("sqlite:///", 1)[1])
        if reset and path.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reset:
            conn.execute(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
