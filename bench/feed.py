"""Home feed benchmark (issue 7): the selector against the best raw SQL, and over HTTP.

One command (generates the data if missing, measures, writes docs/BENCHMARKS.md):

    .venv/bin/python bench/feed.py
    .venv/bin/python bench/feed.py --viewers 50 --rounds 2 --no-docs     # quicker

Database: PostgreSQL `agora_feedbench` (--database-url), filled by bench/generate.py.

What is measured, every baseline in the same run and interleaved request by request:
- the database layer: `feeds.selectors.posts_for_home` (what the home view and the API run:
  the permission module's `visible_posts`, the page, authors, groups, counts, attachments,
  hashtags) for page 1 and page 50 of 200 viewers drawn across follower and followee
  counts, against the best raw SQL for the same page: the ids alone (LATERAL, newest k per
  followee, group and announcements; one statement), and the whole page (the same ids, the
  rows a card shows, counts, attachments and hashtags; one statement); plus, once per viewer,
  the plain `IN (...) OR ... ORDER BY id DESC LIMIT` filter this issue replaced, as an ORM
  query and as raw SQL;
- queries per page for 5, 20 and 100 posts;
- cold against warm: viewers never read before in the run, each on a new database
  connection (a person back after months), and the catch-up a client with a 90-day-old
  cursor makes (`since=`), against the same viewers' warm page 1;
- over HTTP: `GET /` (the home page, HTML) and `GET /api/feed/home/` on uvicorn as
  docker-compose.yml runs it (one process), against `GET /bench/hello/` on the same server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "BENCHMARKS.md"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/agora_feedbench"
START_MARK = "<!-- bench/feed.py: start -->"
END_MARK = "<!-- bench/feed.py: end -->"
PAGE = 20
DEEP_PAGE = 50

# --- the best raw SQL we know for a home-feed page -------------------------------------------

# The permission rule of `permissions.visible_posts`, written out by hand.
_VISIBLE = """
    p.deleted IS NULL AND (
        p.audience = 'everyone'
        OR (p.audience = 'agency' AND p.agency_id = (SELECT agency_id FROM me))
        OR (p.audience = 'group' AND (
            p.group_id IN (SELECT group_id FROM groups_membership WHERE user_id = %(me)s)
            OR EXISTS (SELECT 1 FROM groups_group g WHERE g.id = p.group_id AND g.kind = 'open')
        ))
    )"""

RAW_IDS = f"""
WITH me AS (SELECT agency_id FROM profiles_profile WHERE user_id = %(me)s)
SELECT id FROM (
    SELECT p.id FROM (
        SELECT %(me)s::bigint UNION ALL
        SELECT followee_id FROM profiles_follow WHERE follower_id = %(me)s
    ) AS s(author_id)
    CROSS JOIN LATERAL (
        SELECT p.id FROM feeds_post p
        WHERE p.author_id = s.author_id AND p.id < %(before)s AND {_VISIBLE}
        ORDER BY p.id DESC LIMIT %(k)s
    ) AS p
    UNION
    SELECT p.id FROM (SELECT group_id FROM groups_membership WHERE user_id = %(me)s) AS s
    CROSS JOIN LATERAL (
        SELECT p.id FROM feeds_post p
        WHERE p.group_id = s.group_id AND p.id < %(before)s AND p.deleted IS NULL
        ORDER BY p.id DESC LIMIT %(k)s
    ) AS p
    UNION
    (SELECT p.id FROM feeds_post p
     WHERE p.is_announcement AND p.id < %(before)s AND {_VISIBLE}
     ORDER BY p.id DESC LIMIT %(k)s)
) AS page ORDER BY id DESC LIMIT %(k)s
"""  # noqa: S608  (constants)

# The same page in two passes (what `feeds.selectors._bounded_per_source` does): three posts of
# each source first; the 21st newest of them bounds the page from below, and only the sources
# whose three posts are all above it are read again, down to the bound.
RAW_IDS_TWO_PASS = f"""
WITH me AS (SELECT agency_id FROM profiles_profile WHERE user_id = %(me)s),
few_author(source, id) AS MATERIALIZED (
    SELECT s.author_id, p.id FROM (
        SELECT %(me)s::bigint UNION ALL
        SELECT followee_id FROM profiles_follow WHERE follower_id = %(me)s
    ) AS s(author_id)
    CROSS JOIN LATERAL (
        SELECT p.id FROM feeds_post p
        WHERE p.author_id = s.author_id AND p.id < %(before)s AND {_VISIBLE}
        ORDER BY p.id DESC LIMIT 3
    ) AS p),
few_group(source, id) AS MATERIALIZED (
    SELECT s.group_id, p.id
    FROM (SELECT group_id FROM groups_membership WHERE user_id = %(me)s) AS s
    CROSS JOIN LATERAL (
        SELECT p.id FROM feeds_post p
        WHERE p.group_id = s.group_id AND p.id < %(before)s AND p.deleted IS NULL
        ORDER BY p.id DESC LIMIT 3
    ) AS p),
few_news(id) AS MATERIALIZED (
    SELECT p.id FROM feeds_post p
    WHERE p.is_announcement AND p.id < %(before)s AND {_VISIBLE}
    ORDER BY p.id DESC LIMIT 3),
few(id) AS (SELECT id FROM few_author UNION SELECT id FROM few_group UNION SELECT id FROM few_news),
bound(id) AS (SELECT COALESCE((SELECT id FROM few ORDER BY id DESC OFFSET %(k)s - 1 LIMIT 1), 0))
SELECT id FROM (
    SELECT id FROM few
    UNION
    SELECT p.id FROM (
        SELECT source FROM few_author GROUP BY source
        HAVING count(*) = 3 AND min(id) >= (SELECT id FROM bound)
    ) AS s(author_id)
    CROSS JOIN LATERAL (
        SELECT p.id FROM feeds_post p
        WHERE p.author_id = s.author_id AND p.id < %(before)s
          AND p.id >= (SELECT id FROM bound) AND {_VISIBLE}
        ORDER BY p.id DESC LIMIT %(k)s
    ) AS p
    UNION
    SELECT p.id FROM (
        SELECT source FROM few_group GROUP BY source
        HAVING count(*) = 3 AND min(id) >= (SELECT id FROM bound)
    ) AS s(group_id)
    CROSS JOIN LATERAL (
        SELECT p.id FROM feeds_post p
        WHERE p.group_id = s.group_id AND p.id < %(before)s
          AND p.id >= (SELECT id FROM bound) AND p.deleted IS NULL
        ORDER BY p.id DESC LIMIT %(k)s
    ) AS p
    UNION
    (SELECT p.id FROM feeds_post p
     WHERE p.is_announcement AND p.id < %(before)s AND p.id >= (SELECT id FROM bound)
       AND {_VISIBLE}
       AND (SELECT count(*) = 3 AND min(id) >= (SELECT id FROM bound) FROM few_news)
     ORDER BY p.id DESC LIMIT %(k)s)
) AS page ORDER BY id DESC LIMIT %(k)s
"""  # noqa: S608  (constants)

RAW_PAGE = f"""
WITH page AS ({RAW_IDS_TWO_PASS})
SELECT p.id, p.author_id, p.body, p.body_html, p.audience, p.group_id, p.agency_id,
       p.is_announcement, p.created, p.edited,
       u.username, u.first_name, u.last_name, pr.display_name, pr.job_title, pr.avatar,
       a.name, a.short_name, d.name, g.name, g.slug, g.kind, pa.short_name,
       (SELECT count(*) FROM feeds_comment c WHERE c.post_id = p.id AND c.deleted IS NULL),
       (SELECT string_agg(r.kind, ',') FROM feeds_reaction r WHERE r.post_id = p.id),
       (SELECT string_agg(r.kind, ',') FROM feeds_reaction r
        WHERE r.post_id = p.id AND r.user_id = %(me)s),
       (SELECT json_agg(json_build_object('id', f.id, 'name', f.original_name, 'file', f.file,
                                          'kind', f.kind, 'size', f.size) ORDER BY f.id)
        FROM feeds_attachment f WHERE f.post_id = p.id),
       (SELECT array_agg(h.name ORDER BY h.name) FROM feeds_post_hashtags ph
        JOIN feeds_hashtag h ON h.id = ph.hashtag_id WHERE ph.post_id = p.id)
FROM page JOIN feeds_post p ON p.id = page.id
JOIN auth_user u ON u.id = p.author_id
LEFT JOIN profiles_profile pr ON pr.user_id = u.id
LEFT JOIN profiles_agency a ON a.id = pr.agency_id
LEFT JOIN profiles_department d ON d.id = pr.department_id
LEFT JOIN groups_group g ON g.id = p.group_id
LEFT JOIN profiles_agency pa ON pa.id = p.agency_id
ORDER BY p.id DESC
"""  # noqa: S608  (constants)

# The plain filter this issue replaced (what the ORM wrote for the home feed before).
RAW_PLAIN = f"""
WITH me AS (SELECT agency_id FROM profiles_profile WHERE user_id = %(me)s)
SELECT p.id FROM feeds_post p
WHERE p.id < %(before)s AND {_VISIBLE} AND (
    p.author_id = %(me)s
    OR p.author_id IN (SELECT followee_id FROM profiles_follow WHERE follower_id = %(me)s)
    OR p.group_id IN (SELECT group_id FROM groups_membership WHERE user_id = %(me)s)
    OR p.is_announcement)
ORDER BY p.id DESC LIMIT %(k)s
"""  # noqa: S608  (constants)

NO_CURSOR = 2**62
# The servers' collected static files (production collects them when the image is built).
STATIC_ROOT = ROOT / "var" / "bench-static"


# --- statistics and the machine --------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3) if values else 0.0,
    }


def cell(s: dict, digits: int = 2) -> str:
    return f"{s['p50']:.{digits}f} / {s['p95']:.{digits}f} / {s['max']:.{digits}f}"


def ratio(a: dict, b: dict, key: str = "p95") -> float:
    return round(a[key] / b[key], 2) if b[key] else 0.0


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine(database_url: str) -> dict:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    pg = ""
    try:
        import psycopg

        with psycopg.connect(database_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            shared = conn.execute("SHOW shared_buffers").fetchone()[0]
            pg = f"{version} (shared_buffers {shared})"
    except Exception as exc:  # noqa: BLE001
        pg = f"unknown ({type(exc).__name__})"
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql": pg,
        "date": datetime.now(UTC).date().isoformat(),
        "load_average": load_average(),
    }


def machine_line(m: dict, seconds: int) -> str:
    return (
        f"Measured on {m['date']} in {seconds} s: {m['cpus']} CPUs, {m['memory_gb']} GB, "
        f"Python {m['python']}, PostgreSQL {m['postgresql']}; load average {m['load_average']} "
        f"before and {m.get('load_average_after')} after (the machine is shared: read the "
        "ratios, measured in the same run and interleaved, before the absolute figures)."
    )


def write_docs(section: str, start: str = START_MARK, end: str = END_MARK) -> None:
    """Replace our own section (between our markers) and nothing else; read-modify-write."""
    text = DOCS.read_text()
    block = f"{start}\n{section}\n{end}"
    if start in text and end in text:
        text = text.split(start)[0] + block + text.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOCS.write_text(text)


# --- Django and the data ----------------------------------------------------------------------


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("OUTBOX_CONSUMERS", "")
    os.environ.setdefault("REALTIME_PUBLISHER", "")
    # The measuring process itself: one persistent connection (its reads are timed one by one);
    # the servers it starts use the pool as shipped (server_env).
    os.environ.setdefault("DATABASE_POOL", "false")
    os.environ.setdefault("CONN_MAX_AGE", "600")
    os.environ["STATIC_ROOT"] = str(STATIC_ROOT)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def ensure_data(database_url: str) -> None:
    """Generate the network (bench/generate.py) if the database has no posts yet."""
    import psycopg

    base, _, name = database_url.rpartition("/")
    try:
        with psycopg.connect(database_url) as conn:
            if conn.execute("SELECT count(*) FROM feeds_post").fetchone()[0]:
                return
    except psycopg.Error:
        pass
    subprocess.run(  # noqa: S603  (our own generator)
        [sys.executable, str(ROOT / "bench" / "generate.py"), "--database-url", database_url],
        check=True,
        cwd=ROOT,
    )


def viewer_rows() -> list[tuple[int, int, int, int]]:
    """(user id, followers, followees, groups) of every active member of staff."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT u.id,
                   (SELECT count(*) FROM profiles_follow f WHERE f.followee_id = u.id),
                   (SELECT count(*) FROM profiles_follow f WHERE f.follower_id = u.id),
                   (SELECT count(*) FROM groups_membership m WHERE m.user_id = u.id)
            FROM auth_user u WHERE u.is_active ORDER BY u.id
            """
        )
        return cursor.fetchall()


def spread(rows: list, key, n: int) -> list:
    """`n` rows evenly spaced over the order of `key` (the smallest, ..., the largest)."""
    ordered = sorted(rows, key=key)
    if n >= len(ordered):
        return ordered
    return [ordered[round(i * (len(ordered) - 1) / max(n - 1, 1))] for i in range(n)]


def pick_viewers(n: int, rng: random.Random, exclude: set[int] = frozenset()) -> list[tuple]:
    """Half spread over follower counts (the most followed person included), half over
    followee counts (the person who follows most included)."""
    rows = [r for r in viewer_rows() if r[0] not in exclude]
    chosen: dict[int, tuple] = {}
    for row in spread(rows, lambda r: (r[1], r[0]), n // 2):
        chosen[row[0]] = row
    for row in spread(rows, lambda r: (r[2], r[0]), n):
        if len(chosen) >= n:
            break
        chosen.setdefault(row[0], row)
    out = list(chosen.values())
    rng.shuffle(out)
    return out


# --- the database layer -----------------------------------------------------------------------


class Raw:
    """The raw statements on their own psycopg connection (autocommit; psycopg prepares a
    statement it sees often, which is what a hand-tuned data layer would do)."""

    def __init__(self, database_url: str):
        import psycopg

        self.conn = psycopg.connect(database_url, autocommit=True)

    def ids(self, me: int, before: int | None, k: int = PAGE + 1, sql: str = RAW_IDS) -> list:
        params = {"me": me, "before": before or NO_CURSOR, "k": k}
        return [row[0] for row in self.conn.execute(sql, params).fetchall()]

    def page(self, me: int, before: int | None, k: int = PAGE + 1) -> list:
        params = {"me": me, "before": before or NO_CURSOR, "k": k}
        return self.conn.execute(RAW_PAGE, params).fetchall()


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, out


def touch(page) -> None:
    """What a feed card reads (everything must already be loaded)."""
    for post in page.items:
        profile = post.author.profile
        _ = (profile.display_name, profile.agency, profile.department, post.group, post.agency)
        _ = (post.comment_count, post.reaction_counts, post.reaction_total)
        _ = [a.original_name for a in post.attachments.all()]
        _ = [t.name for t in post.hashtags.all()]


def selector_read(user, before_id: int | None):
    from feeds import selectors
    from feeds.cursors import encode_cursor

    page = selectors.posts_for_home(
        viewer=user, before=encode_cursor(before_id) if before_id else None
    )
    touch(page)
    return page


def plain_read(user, before_id: int | None):
    """The home feed as this issue found it: one filter, `ORDER BY id DESC LIMIT`."""
    import permissions
    from feeds import selectors
    from feeds.cursors import encode_cursor

    qs = permissions.visible_posts(user).filter(selectors.home_feed_filter(user))
    page = selectors._page(qs, viewer=user, before=encode_cursor(before_id) if before_id else None)
    touch(page)
    return page


def measure_database(args, raw: Raw, viewers: list[tuple], rng: random.Random) -> dict:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk([v[0] for v in viewers])
    # Page 50 starts after the 980th post of a viewer's feed; fewer posts, no page 50.
    deep: dict[int, int] = {}
    for uid, *_ in viewers:
        ids = raw.ids(uid, None, k=(DEEP_PAGE - 1) * PAGE + PAGE)
        if len(ids) >= (DEEP_PAGE - 1) * PAGE + PAGE:
            deep[uid] = ids[(DEEP_PAGE - 1) * PAGE - 1]
    series: dict[str, list[float]] = {
        f"{name}_{page}": []
        for name in ("raw_ids", "raw_ids_two", "raw_page", "selector", "plain", "raw_plain")
        for page in ("p1", "p50")
    }
    mismatches = 0
    for round_no in range(args.rounds):
        order = list(viewers)
        rng.shuffle(order)
        for uid, *_ in order:
            user = users[uid]
            for page, before in (("p1", None), ("p50", deep.get(uid))):
                if page == "p50" and before is None:
                    continue
                variants = ["raw_ids", "raw_ids_two", "raw_page", "selector"]
                if round_no == 0:
                    variants += ["plain", "raw_plain"]  # slow; once is enough
                rng.shuffle(variants)
                got = {}
                for name in variants:
                    if name == "raw_ids":
                        ms, out = timed(raw.ids, uid, before)
                        got[name] = out[:PAGE]
                    elif name == "raw_ids_two":
                        ms, out = timed(raw.ids, uid, before, sql=RAW_IDS_TWO_PASS)
                        got[name] = out[:PAGE]
                    elif name == "raw_page":
                        ms, out = timed(raw.page, uid, before)
                        got[name] = [row[0] for row in out][:PAGE]
                    elif name == "raw_plain":
                        ms, out = timed(raw.ids, uid, before, sql=RAW_PLAIN)
                        got[name] = out[:PAGE]
                    else:
                        read = selector_read if name == "selector" else plain_read
                        ms, out = timed(read, user, before)
                        got[name] = [p.pk for p in out.items]
                    series[f"{name}_{page}"].append(ms)
                if len({tuple(v) for v in got.values()}) != 1:
                    mismatches += 1
        print(f"  database round {round_no + 1}/{args.rounds} done", flush=True)
    out = {key: summary(values) for key, values in series.items() if values}
    out["viewers"] = len(viewers)
    out["viewers_with_page_50"] = len(deep)
    out["mismatches"] = mismatches
    return out


def measure_queries(viewers: list[tuple]) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from feeds import selectors

    out = {}
    user = get_user_model().objects.get(pk=max(viewers, key=lambda v: v[2])[0])
    for limit in (5, 20, 100):
        with CaptureQueriesContext(connection) as queries:
            page = selectors.posts_for_home(viewer=user, limit=limit)
            touch(page)
        out[str(limit)] = {"queries": len(queries.captured_queries), "posts": len(page.items)}
    return out


def measure_cold(args, raw: Raw, cold_viewers: list[tuple]) -> dict:
    """First read of viewers nobody read before in this run, each on a new connection, then
    the same page warm; and the catch-up of a client whose cursor is 90 days old."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from feeds import selectors
    from feeds.cursors import encode_cursor
    from feeds.models import Post

    users = get_user_model().objects.in_bulk([v[0] for v in cold_viewers])
    months_ago = (
        Post.objects.filter(created__lte=datetime.now(UTC) - timedelta(days=90))
        .order_by("-pk")
        .first()
        .pk
    )
    cold, warm, since = [], [], []
    for uid, *_ in cold_viewers:
        user = users[uid]
        connection.close()
        connection.ensure_connection()  # the connection itself is not the feed's cost
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        ms, _ = timed(selector_read, user, None)
        cold.append(ms)
        for _ in range(3):
            ms, _ = timed(selector_read, user, None)
            warm.append(ms)
        ms, page = timed(selectors.posts_for_home, viewer=user, since=encode_cursor(months_ago))
        touch(page)
        since.append(ms)
    return {
        "cold": summary(cold),
        "warm": summary(warm),
        "since_90_days": summary(since),
        "viewers": len(cold_viewers),
    }


# --- over HTTP --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the benchmark server did not start")


def server_env(database_url: str, **extra: str) -> dict:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        LOG_LEVEL="WARNING",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        REDIS_PREFIX=f"agora-feedbench-{os.getpid()}",
        OUTBOX_DRAIN_INLINE="false",
        OUTBOX_CONSUMERS="",
        SEARCH_BACKEND="database",
        STATIC_ROOT=str(STATIC_ROOT),
        DATABASE_POOL="true",  # as shipped (the measuring process has its own setting)
    )
    env.update(extra)
    return env


def start_uvicorn(env: dict, port: int, workers: int = 1) -> subprocess.Popen:
    """uvicorn as docker-compose.yml runs it (one process unless `workers` says otherwise)."""
    command = [
        str(ROOT / ".venv" / "bin" / "uvicorn"), "intranet.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
        "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
        "--no-access-log",
    ]  # fmt: skip
    if workers > 1:
        command += ["--workers", str(workers)]
    server = subprocess.Popen(  # noqa: S603  (our own server, our own arguments)
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for(port)
    return server


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def sessions_for(user_ids: list[int]) -> dict[int, str]:
    """A signed-in session cookie per viewer, as the sign-in page would leave it."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    out = {}
    for user in get_user_model().objects.filter(pk__in=user_ids):
        client = Client()
        client.force_login(user)
        out[user.pk] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return out


def tokens_for(user_ids: list[int]) -> dict[int, str]:
    from rest_framework.authtoken.models import Token

    return {uid: Token.objects.get_or_create(user_id=uid)[0].key for uid in user_ids}


class Http:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str, headers: dict | None = None) -> float:
        started = time.perf_counter()
        self.conn.request("GET", path, headers={"Host": "localhost", **(headers or {})})
        response = self.conn.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status}")
        return elapsed


# How the server gets its database connections (environment of the server process).
CONNECTIONS = {
    "pool": {"DATABASE_POOL": "true"},  # as shipped: intranet/pooled_postgresql
    "per-request": {"DATABASE_POOL": "false", "CONN_MAX_AGE": "0"},
}
CONNECTION_LABELS = {
    "pool": "pool (as shipped)",
    "per-request": "one per request (`DATABASE_POOL=false`)",
}


def measure_http(args, viewers: list[tuple], rng: random.Random) -> dict:
    from django.conf import settings

    ids = [v[0] for v in viewers[: args.http_viewers]]
    cookies = sessions_for(ids)
    tokens = tokens_for(ids)
    port = free_port()
    out = {}
    for variant in args.connections.split(","):
        env = server_env(args.database_url, **CONNECTIONS[variant])
        server = start_uvicorn(env, port)
        try:
            client = Http(port)
            cookie = {
                uid: {"Cookie": f"{settings.SESSION_COOKIE_NAME}={c}"} for uid, c in cookies.items()
            }
            token = {uid: {"Authorization": f"Token {t}"} for uid, t in tokens.items()}
            for uid in ids[:10]:  # warm up
                client.get("/bench/hello/")
                client.get("/", cookie[uid])
                client.get("/api/feed/home/", token[uid])
            series = {"hello": [], "home": [], "api": []}
            for _round in range(args.http_rounds):
                order = list(ids)
                rng.shuffle(order)
                for uid in order:
                    steps = [
                        ("hello", "/bench/hello/", None),
                        ("home", "/", cookie[uid]),
                        ("api", "/api/feed/home/", token[uid]),
                    ]
                    rng.shuffle(steps)
                    for name, path, headers in steps:
                        series[name].append(client.get(path, headers))
            out[variant] = {key: summary(values) for key, values in series.items()}
            print(f"  http connections={variant}: {out[variant]}", flush=True)
        finally:
            stop(server)
    return out


# --- the report -------------------------------------------------------------------------------


def render(results: dict) -> str:
    db = results["database"]
    cold = results["cold"]
    lines = [
        "## Home feed (issue 7)",
        "",
        machine_line(results["machine"], results["seconds"]),
        f"Data: bench/generate.py's network ({results['posts']:,} posts). Times in ms, "
        "p50 / p95 / max.",
        "",
        f"Database layer: {db['viewers']} viewers spread over follower and followee counts "
        f"({db['viewers_with_page_50']} have a page 50), {results['rounds']} rounds, page of "
        f"{PAGE}, the variants of each read shuffled and interleaved viewer by viewer. "
        '"Selector" is `feeds.selectors.posts_for_home` with everything a card reads '
        f"({results['queries']['20']['queries']} queries, model instances); "
        '"raw ids" are the page\'s ids in one statement: the newest 21 of each source '
        '(LATERAL), or in "two passes" (3 of each source first, then the sources that may '
        "hold more, down to the bound the first pass gives; the selector's form since "
        'December 6); "raw page" is one statement returning everything the page shows (on '
        'the two-pass ids); "plain" is the single-filter query this issue replaced (ORM, '
        f"and its raw SQL), read once per viewer. Pages that differed between variants: "
        f"{db['mismatches']}.",
        "",
        "| page | raw ids | raw ids, two passes | raw page | **selector** | "
        "selector / raw page, p95 | selector / raw ids (two passes), p95 | plain (ORM) | "
        "plain (raw SQL) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for page, label in (("p1", "1"), ("p50", str(DEEP_PAGE))):
        lines.append(
            f"| {label} | {cell(db[f'raw_ids_{page}'])} | {cell(db[f'raw_ids_two_{page}'])} | "
            f"{cell(db[f'raw_page_{page}'])} | **{cell(db[f'selector_{page}'])}** | "
            f"**{ratio(db[f'selector_{page}'], db[f'raw_page_{page}'])}** | "
            f"{ratio(db[f'selector_{page}'], db[f'raw_ids_two_{page}'])} | "
            f"{cell(db[f'plain_{page}'])} | {cell(db[f'raw_plain_{page}'])} |"
        )
    q = results["queries"]
    lines += [
        "",
        "Deep page against page 1 (selector, p95): "
        f"**{ratio(db['selector_p50'], db['selector_p1'])}** "
        f"(raw ids: {ratio(db['raw_ids_p50'], db['raw_ids_p1'])}, two passes: "
        f"{ratio(db['raw_ids_two_p50'], db['raw_ids_two_p1'])}). Queries per page: "
        + ", ".join(f"{v['queries']} for {v['posts']} posts" for v in q.values())
        + ".",
        "",
        f"Cold against warm ({cold['viewers']} viewers read nowhere else in the run, page 1, "
        "each first read on a new database connection; warm: the same page read again 3 "
        "times; catch-up: `since=` a cursor 90 days old, the oldest 20 newer posts):",
        "",
        "| warm | cold (first read) | cold / warm, p95 | catch-up since 90 days | "
        "catch-up / warm, p95 |",
        "|---|---|---|---|---|",
        f"| {cell(cold['warm'])} | {cell(cold['cold'])} | **{ratio(cold['cold'], cold['warm'])}"
        f"** | {cell(cold['since_90_days'])} | "
        f"**{ratio(cold['since_90_days'], cold['warm'])}** |",
    ]
    lines += [
        "",
        "Designs tried (the selector's main statement, EXPLAIN ANALYZE medians of 15 runs, one "
        "viewer, under the same shared load): newest-per-source ids passed as `id IN (...)` "
        "with `visible_posts` applied again outside planned in 2.6–2.7 ms and ran in 6.4–8.2 "
        "ms; as `id = ANY(ARRAY(...))` without the second filter (every branch already is "
        "`visible_posts`), 1.9 ms and 2.7 ms (the ids alone: 0.6 ms and 1.8 ms). Attachments "
        "and hashtags were two prefetch queries (4 queries a page): without them the selector "
        "took 42.9 / 71.7 ms instead of 62.0 / 90.6 ms (p50 / p95, 15 viewers, 4 rounds, "
        "interleaved), so they now come as JSON columns of the page's statement (2 queries a "
        "page: the viewer's agency, asked by `permissions`, and the page; the figures above).",
    ]
    if results.get("http"):
        lines += [
            "",
            f"Over HTTP: uvicorn as docker-compose.yml runs it (one process), "
            f"{results['http_viewers']} signed-in viewers, {results['http_rounds']} rounds, "
            "keep-alive, one request at a time; `GET /` is the home page (HTML: composer, "
            "feed, trending hashtags), `GET /api/feed/home/` the API (token), each against "
            "`GET /bench/hello/` on the same server, interleaved.",
            "",
            "| database connections | hello world | home page | home / hello, p95 | "
            "API home feed | API / hello, p95 |",
            "|---|---|---|---|---|---|",
        ]
        for variant, h in results["http"].items():
            lines.append(
                f"| {CONNECTION_LABELS.get(variant, variant)} | {cell(h['hello'])} | "
                f"{cell(h['home'])} | "
                f"**{ratio(h['home'], h['hello'])}** | {cell(h['api'])} | "
                f"**{ratio(h['api'], h['hello'])}** |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Home feed benchmark (module docstring).")
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold-viewers", type=int, default=50)
    parser.add_argument("--http-viewers", type=int, default=50)
    parser.add_argument("--http-rounds", type=int, default=4)
    parser.add_argument(
        "--connections", default="pool,per-request", help=f"server settings: {list(CONNECTIONS)}"
    )
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/BENCHMARKS.md")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results: dict = {"machine": machine(args.database_url)}
    started = time.perf_counter()
    ensure_data(args.database_url)
    setup_django(args.database_url)
    from feeds.models import Post

    rng = random.Random(args.seed)
    raw = Raw(args.database_url)
    viewers = pick_viewers(args.viewers, rng)
    cold_viewers = pick_viewers(args.cold_viewers, rng, exclude={v[0] for v in viewers})
    print(f"== cold ({len(cold_viewers)} viewers)", flush=True)
    results["cold"] = measure_cold(args, raw, cold_viewers)
    print(f"== database ({len(viewers)} viewers)", flush=True)
    results["database"] = measure_database(args, raw, viewers, rng)
    results["queries"] = measure_queries(viewers)
    if not args.no_http:
        print("== http", flush=True)
        results["http"] = measure_http(args, viewers, rng)
    results.update(
        posts=Post.objects.count(),
        rounds=args.rounds,
        http_viewers=args.http_viewers,
        http_rounds=args.http_rounds,
        viewer_counts={
            "followers": [min(v[1] for v in viewers), max(v[1] for v in viewers)],
            "followees": [min(v[2] for v in viewers), max(v[2] for v in viewers)],
        },
        seconds=round(time.perf_counter() - started),
    )
    results["machine"]["load_average_after"] = load_average()
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench-feed.json").write_text(json.dumps(results, indent=1, default=str))
    report = render(results)
    print(report)
    if not args.no_docs:
        write_docs(report)


if __name__ == "__main__":
    main()
