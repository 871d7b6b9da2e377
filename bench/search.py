"""Search benchmark: the database backend on PostgreSQL and SQLite, against raw SQL.

One command (generates the data if missing, rebuilds the index, measures, writes the figures
into docs/BENCHMARKS.md):

    .venv/bin/python bench/search.py
    .venv/bin/python bench/search.py --posts 100000 --databases sqlite     # smaller, quicker

Databases: PostgreSQL `agora_bench` (--pg-url) and the SQLite file var/bench.sqlite3
(--sqlite-path), both filled by bench/generate.py with the same seed. Each database is
measured in its own process (Django is configured per process).

What is measured, per frequency band (words in ~0.01%, 0.1%, 1%, 3% and 10%+ of posts):
- the backend's newest-first search (`DatabaseBackend.search`, the default order, page of
  20, permission included), for one word, a two-word phrase, and one word with filters
  (the viewer's agency, and the last 90 days); the same with the first page's counts;
- relevance-ranked search, one word;
- the raw full-text SQL for the same words in the same run, interleaved query by query:
  PostgreSQL `vector @@ websearch_to_tsquery(..) ORDER BY id DESC LIMIT 20` (and
  `ORDER BY ts_rank_cd(..) DESC` for relevance); SQLite
  `search_fts MATCH .. ORDER BY rowid DESC LIMIT 20` (and `ORDER BY bm25(..)`);
- the HTTP endpoint `/api/search/` on a daphne server against `/bench/hello/` on the same
  server: the target is endpoint <= 2 x (raw SQL + hello world); and the same request with
  `counts=true` (what a client showing "N results" asks on its first page), for reference;
- `search_reindex` throughput (documents per second);
- on PostgreSQL, the snippet of long bodies (twenty posts each, about 5,000 characters):
  `ts_headline` of the whole body against `body_headline` as searches make it, with the word
  early, only at the end, and absent (a post found by its author), in microseconds a body.
Viewers are drawn (seeded) from active staff, so every search carries a real permission filter.
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
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "BENCHMARKS.md"
START_MARK = "<!-- search-bench:start -->"
END_MARK = "<!-- search-bench:end -->"
PG_URL = "postgres://postgres@127.0.0.1:5432/agora_bench"
SQLITE_PATH = ROOT / "var" / "bench.sqlite3"
# Vocabulary ranks (Zipf, see bench/generate.py) whose document frequency falls in each band.
BAND_RANKS = {
    "0.01%": [18000, 20000, 21900, 24000, 26000],
    "0.1%": [2000, 2100, 2190, 2300, 2400],
    "1%": [200, 210, 219, 230, 240],
    "3%": [60, 70, 73, 80, 90],
    "10%+": [1, 5, 12, 20, 22],
}
RAW_TIMEOUT_MS = 3000


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.50), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2) if values else None,
    }


# --- the worker: one database -------------------------------------------------------------------


def worker(args) -> dict:
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["OUTBOX_CONSUMERS"] = ""  # the generator writes rows directly; no events
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")
    sys.path.insert(0, str(ROOT))
    from bench import generate

    generate.prepare_database(args.database_url, reset=False)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from feeds.models import Post

    call_command("migrate", verbosity=0)
    have = Post.objects.count()
    result: dict = {"vendor": connection.vendor, "posts": have}
    if have < args.posts:
        if have:
            raise SystemExit(f"{have} posts in the database, {args.posts} asked: use --reset")
        counts = generate.main(["--database-url", args.database_url, "--posts", str(args.posts)])
        result["generated"] = counts
        result["posts"] = Post.objects.count()
    result["reindex"] = reindex(args)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE search_searchdocument")
    rng = random.Random(7)
    viewers = pick_viewers(rng, args.viewers)
    terms = pick_terms()
    result["terms"] = terms
    result["queries"] = measure_queries(args, viewers, terms, rng)
    if connection.vendor == "postgresql":
        result["long_snippets"] = measure_long_snippets(terms)
    if not args.no_endpoint:
        result["endpoint"] = measure_endpoint(args, viewers, terms)
    result["run"] = {
        "seconds": round(time.perf_counter() - started),
        "load_average": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "finished": time.strftime("%Y-%m-%d %H:%M"),
    }
    return result


def reindex(args) -> dict:
    from search.backends import database_backend
    from search.models import SearchDocument

    existing = SearchDocument.objects.count()
    if args.skip_reindex and existing:
        return {"skipped": True, "documents": existing}
    bar = None
    try:
        from tqdm import tqdm

        from search import documents

        total = sum(documents.count(k) for k in SearchDocument.Kind.values)
        bar = tqdm(total=total, unit="doc", desc="reindex", mininterval=2.0)
    except ImportError:  # pragma: no cover
        pass
    backend = database_backend()
    report = backend.reindex(progress=bar.update if bar else None)
    if bar:
        bar.close()
    out = {
        "documents": report.documents,
        "seconds": round(report.seconds, 1),
        "per_second": round(report.per_second),
    }
    from django.db import connection

    if connection.vendor == "postgresql":
        out["cluster_seconds"] = round(backend.cluster(), 1)
    return out


def pick_viewers(rng, n: int) -> list:
    from django.contrib.auth import get_user_model

    ids = list(
        get_user_model()
        .objects.filter(is_active=True, profile__agency__isnull=False)
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    chosen = rng.sample(ids, k=min(n, len(ids)))
    return list(get_user_model().objects.filter(pk__in=chosen).select_related("profile"))


def pick_terms() -> dict:
    """Per band: one-word terms (with their measured share of posts) and planted phrases."""
    from bench.generate import phrases, vocabulary

    words = vocabulary()
    out: dict = {}
    for band, ranks in BAND_RANKS.items():
        entries = []
        for rank in ranks:
            word = words[rank - 1]
            entries.append({"text": word, "share": post_share(word)})
        out[band] = {
            "words": entries,
            "phrases": [
                {"text": f'"{p}"', "share": post_share(f'"{p}"')}
                for p in phrases()[band.rstrip("+")]
            ],
        }
    return out


def post_share(text: str) -> float:
    """Share of posts matching `text` (counted once, outside the timings)."""
    from django.db import connection

    from feeds.models import Post
    from search import query

    parsed = query.parse(text)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM search_searchdocument WHERE kind = 'post' AND "
                "vector @@ websearch_to_tsquery('english', %s)",
                [parsed.websearch()],
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM search_fts JOIN search_searchdocument d ON d.id = "
                "search_fts.rowid WHERE search_fts MATCH %s AND d.kind = 'post'",
                ["{title tags body context} : (" + parsed.fts5() + ")"],
            )
        n = cursor.fetchone()[0]
    return round(100 * n / max(Post.objects.count(), 1), 4)


def raw_sql(vendor: str, text: str, relevance: bool) -> tuple[str, list]:
    from search import query

    parsed = query.parse(text)
    if vendor == "postgresql":
        order = (
            "ts_rank_cd(vector, websearch_to_tsquery('english', %s), 32) DESC"
            if relevance
            else "id DESC"
        )
        sql = (
            "SELECT id FROM search_searchdocument WHERE vector @@ "
            f"websearch_to_tsquery('english', %s) ORDER BY {order} LIMIT 20"
        )
        params = [parsed.websearch()] * (2 if relevance else 1)
        return sql, params
    order = "bm25(search_fts)" if relevance else "rowid DESC"
    sql = f"SELECT rowid FROM search_fts WHERE search_fts MATCH %s ORDER BY {order} LIMIT 20"
    return sql, ["{title tags body context} : (" + parsed.fts5() + ")"]


def timed_raw(vendor: str, text: str, relevance: bool) -> float:
    from django.db import connection

    sql, params = raw_sql(vendor, text, relevance)
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(f"SET statement_timeout = {RAW_TIMEOUT_MS}")
            cursor.execute("SET jit = off")
        started = time.perf_counter()
        try:
            cursor.execute(sql, params)
            cursor.fetchall()
        except Exception:  # a raw query over the timeout counts as the timeout
            if vendor == "postgresql":
                connection.rollback() if not connection.get_autocommit() else None
            return float(RAW_TIMEOUT_MS)
        finally:
            if vendor == "postgresql":
                cursor.execute("SET statement_timeout = 0")
        return (time.perf_counter() - started) * 1000


def timed_backend(viewer, text: str, *, relevance=False, counts=False, filters=None) -> float:
    from search import query
    from search.backends import database_backend
    from search.backends.base import SORT_NEWEST, SORT_RELEVANCE, SearchRequest

    request = SearchRequest(
        query=query.parse(text),
        kinds=("post",),
        sort=SORT_RELEVANCE if relevance else SORT_NEWEST,
        with_counts=counts,
        **(filters or {}),
    )
    started = time.perf_counter()
    database_backend().search(request, viewer=viewer)
    return (time.perf_counter() - started) * 1000


def measure_queries(args, viewers, terms, rng) -> dict:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    vendor = connection.vendor
    today = timezone.localdate()
    out: dict = {}
    for band, entry in terms.items():
        series: dict[str, list[float]] = {
            name: []
            for name in (
                "raw_newest", "newest", "newest_counts", "phrase_raw", "phrase", "filtered",
                "raw_relevance", "relevance", "relevance_first",
            )
        }  # fmt: skip
        # A word's first relevance search reads the pages of every post it ranks (the
        # permission), which after the data was loaded may still be on disk (90-105 ms
        # instead of 10-12 for words between the 1% and 0.1% bands, docs/BENCHMARKS.md):
        # measured apart, once per word, so that the relevance series measure the query.
        for item in entry["words"]:
            timed_raw(vendor, item["text"], True)
            first = timed_backend(viewers[0], item["text"], relevance=True)
            series["relevance_first"].append(first)
        for _round in range(args.rounds):
            for viewer in viewers:
                for item in entry["words"]:
                    text = item["text"]
                    series["raw_newest"].append(timed_raw(vendor, text, False))
                    series["newest"].append(timed_backend(viewer, text))
                    series["newest_counts"].append(timed_backend(viewer, text, counts=True))
                    agency = viewer.profile.agency_id
                    series["filtered"].append(
                        timed_backend(
                            viewer,
                            text,
                            filters={"agency_id": agency, "date_from": today - timedelta(days=90)},
                        )
                    )
                    if _round == 0:
                        series["raw_relevance"].append(timed_raw(vendor, text, True))
                        series["relevance"].append(timed_backend(viewer, text, relevance=True))
                for item in entry["phrases"]:
                    series["phrase_raw"].append(timed_raw(vendor, item["text"], False))
                    series["phrase"].append(timed_backend(viewer, item["text"]))
        out[band] = {name: summary(values) for name, values in series.items()}
        print(f"  {band}: " + ", ".join(f"{k} p95 {v['p95']}" for k, v in out[band].items()))
    return out


def measure_long_snippets(terms: dict, rounds: int = 5) -> dict:
    """µs a body for the snippet of long bodies made of twenty posts that hold a 3% word:
    `ts_headline` of the whole body against `body_headline` (what searches run)."""
    from django.db import connection

    from search import conf
    from search.backends.postgresql import HEADLINE, body_headline

    word = terms["3%"]["words"][0]["text"]
    language = conf.language()
    whole = "ts_headline(%s::regconfig, d.body, q.q, %s)"
    bounded, bounded_params = body_headline("d", "q.q", [])
    placements = {
        "early": "string_agg(body, ' ')",  # the word in the first post's body
        "at the end": "replace(string_agg(body, ' '), %(word)s, 'x') || ' ' || %(word)s",
        "absent": "replace(string_agg(body, ' '), %(word)s, 'x')",
    }
    out: dict = {"word": word}
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        for name, made in placements.items():
            cursor.execute("DROP TABLE IF EXISTS bench_long_bodies")
            cursor.execute(
                f"CREATE TEMP TABLE bench_long_bodies AS SELECT body, "  # noqa: S608 (ours)
                f"setweight(to_tsvector(%(language)s::regconfig, body), 'C') AS vector "
                f"FROM (SELECT {made} AS body FROM (SELECT body, row_number() OVER () / 20 AS g "
                f"FROM search_searchdocument WHERE kind = 'post' AND vector @@ "
                f"websearch_to_tsquery(%(language)s::regconfig, %(word)s) LIMIT 4000) AS posts "
                f"GROUP BY g) AS bodies",
                {"language": language, "word": word},
            )
            cursor.execute("SELECT count(*), avg(length(body)) FROM bench_long_bodies")
            count, length = cursor.fetchone()
            timings: dict[str, list[float]] = {"whole": [], "bounded": []}
            for _round in range(rounds):
                for way, (sql, params) in {
                    "whole": (whole, [language, HEADLINE]),
                    "bounded": (bounded, bounded_params),
                }.items():
                    started = time.perf_counter()
                    cursor.execute(
                        f"SELECT sum(length({sql})) FROM bench_long_bodies d, "  # noqa: S608
                        "(SELECT websearch_to_tsquery(%s::regconfig, %s) AS q) q",
                        [*params, language, word],
                    )
                    cursor.fetchall()
                    timings[way].append((time.perf_counter() - started) * 1e6 / count)
            out[name] = {
                "bodies": count,
                "characters": round(float(length)),
                **{way: round(percentile(v, 0.5), 1) for way, v in timings.items()},
            }
        cursor.execute("DROP TABLE IF EXISTS bench_long_bodies")
    print(f"  long snippets (µs a body, p50): {out}")
    return out


# --- the endpoint, over HTTP ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_endpoint(args, viewers, terms) -> dict:
    from django.db import connection
    from rest_framework.authtoken.models import Token

    vendor = connection.vendor
    port = free_port()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_POOL="true",  # PostgreSQL as shipped (a pool); SQLite has none
        DEBUG="false",
        LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(  # noqa: S603  (our own daphne, our own arguments)
        [str(ROOT / ".venv" / "bin" / "daphne"), "-b", "127.0.0.1", "-p", str(port),
         "intranet.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        tokens = {v.pk: Token.objects.get_or_create(user=v)[0].key for v in viewers}

        def get(path: str, token: str | None = None) -> float:
            headers = {"Authorization": f"Token {token}"} if token else {}
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}")
            return elapsed

        # Warm up threads, connections and caches, for every viewer with a word that has
        # results (until December 2026 the re-check was compiled once per viewer: with a word
        # that matched nothing, each viewer's first measured search paid for it).
        from bench.generate import vocabulary

        warm = quote(vocabulary()[1])  # frequent, and in no band
        for _ in range(3):
            for viewer in viewers:
                get("/bench/hello/")
                get(f"/api/search/?q={warm}&kind=post", tokens[viewer.pk])
        out: dict = {}
        for band, entry in terms.items():
            hello, endpoint, raw, counted = [], [], [], []
            for _round in range(args.rounds):
                for viewer in viewers:
                    for item in entry["words"]:
                        hello.append(get("/bench/hello/"))
                        raw.append(timed_raw(vendor, item["text"], False))
                        path = f"/api/search/?q={quote(item['text'])}&kind=post"
                        endpoint.append(get(path, tokens[viewer.pk]))
                        counted.append(get(f"{path}&counts=true", tokens[viewer.pk]))
            budget = [2 * (r + h) for r, h in zip(raw, hello, strict=True)]
            out[band] = {
                "hello": summary(hello),
                "raw": summary(raw),
                "endpoint": summary(endpoint),
                "endpoint_counts": summary(counted),
                "ratio_p50": round(
                    percentile(endpoint, 0.5) / (percentile(raw, 0.5) + percentile(hello, 0.5)), 2
                ),
                "ratio_p95": round(
                    percentile(endpoint, 0.95) / (percentile(raw, 0.95) + percentile(hello, 0.95)),
                    2,
                ),
                "within_budget": round(
                    sum(e <= b for e, b in zip(endpoint, budget, strict=True)) / len(endpoint), 3
                ),
            }
            print(f"  endpoint {band}: {out[band]}")
        return out
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the benchmark server did not start")


# --- the driver ----------------------------------------------------------------------------------


def machine() -> dict:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    pg_version = ""
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("agora_bench", "postgres")) as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]
            shared = conn.execute("SHOW shared_buffers").fetchone()[0]
            pg_version = f"{pg_version} (shared_buffers {shared})"
    except Exception:  # noqa: BLE001, S110
        pass
    import sqlite3

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "postgresql": pg_version,
        "sqlite": sqlite3.sqlite_version,
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Search benchmark (see the module docstring).")
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--sqlite-path", default=str(SQLITE_PATH))
    parser.add_argument("--viewers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-reindex", action="store_true", help="keep an existing index")
    parser.add_argument("--no-endpoint", action="store_true")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/BENCHMARKS.md")
    parser.add_argument(
        "--reuse",
        default="",
        help="databases (comma-separated) not measured again: their figures are read from the "
        "last run's var/bench-search-<name>.json, and the report says when they were measured",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args)
        Path(args.output).write_text(json.dumps(result, indent=1, default=str))
        return
    results = {"machine": machine(), "databases": {}}
    started = time.perf_counter()
    reuse = {name for name in args.reuse.split(",") if name}
    for name in args.databases.split(","):
        url = args.pg_url if name == "postgresql" else f"sqlite:///{args.sqlite_path}"
        output = ROOT / "var" / f"bench-search-{name}.json"
        if name in reuse:
            print(f"== {name}: figures of the earlier run in {output}", flush=True)
            results["databases"][name] = json.loads(output.read_text())
            results["databases"][name]["reused"] = True
            continue
        print(f"== {name} ({url})", flush=True)
        command = [
            sys.executable, __file__, "--worker", "--database-url", url, "--output", str(output),
            "--posts", str(args.posts), "--viewers", str(args.viewers), "--rounds",
            str(args.rounds),
        ]  # fmt: skip
        command += ["--skip-reindex"] if args.skip_reindex else []
        command += ["--no-endpoint"] if args.no_endpoint else []
        subprocess.run(command, check=True, cwd=ROOT)  # noqa: S603
        results["databases"][name] = json.loads(output.read_text())
    results["seconds"] = round(time.perf_counter() - started)
    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    (ROOT / "var" / "bench-search.json").write_text(json.dumps(results, indent=1, default=str))
    report = render(results)
    print(report)
    if not args.no_docs:
        write_docs(report)


def render(results: dict) -> str:
    sys.path.insert(0, str(ROOT))
    from bench.report import render_search

    return render_search(results)


def write_docs(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else ""
    block = f"{START_MARK}\n{section}\n{END_MARK}"
    if START_MARK in text and END_MARK in text:
        before = text.split(START_MARK)[0]
        after = text.split(END_MARK, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOCS.write_text(text)


if __name__ == "__main__":
    main()
