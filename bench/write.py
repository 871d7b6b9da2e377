"""Posting benchmark (issue 7): writing a post over HTTP, outbox and fan-out included.

One command (needs the network of bench/generate.py; writes docs/BENCHMARKS.md):

    .venv/bin/python bench/write.py
    .venv/bin/python bench/write.py --seconds 3 --rounds 1 --no-docs     # quicker

The production layout for 2 cores (docker-compose.yml): one uvicorn process, Redis for live
updates, and the outbox worker (`manage.py run_outbox`) with the real consumers (search
indexing, notifications) in a process of its own. Phases of `--seconds` each, `--clients`
concurrent keep-alive clients, shuffled and repeated `--rounds` times:

- `POST /api/posts/` (token) as an ordinary member of staff (median follower count);
- the same as the most-followed person (the home feed is read by pull, and a post goes to
  its live stream once, so the number of followers should not matter: this checks it);
- `GET /bench/hello/` on the same server: the baseline (target: posting ≥ 0.25 × its
  requests/s, aim 0.5 ×);
- a bare INSERT of the same rows (the post and its outbox event, one transaction each) over
  psycopg, same number of clients: the database's own ceiling.

After each posting phase the outbox is watched until the worker has drained it (the time to
drain is part of the cost of a post). The posts written here are deleted at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.feed import (  # noqa: E402  (the project root goes on the path first)
    DATABASE_URL,
    ROOT,
    cell,
    ensure_data,
    free_port,
    load_average,
    machine,
    machine_line,
    server_env,
    setup_django,
    start_uvicorn,
    stop,
    summary,
    write_docs,
)

START_MARK = "<!-- bench/write.py: start -->"
END_MARK = "<!-- bench/write.py: end -->"
MARK = "benchwrite"  # every post written here starts with it (and is deleted at the end)
CONSUMERS = "search.indexing.handle_event,notifications.consumers.handle_event"


def body(rng: random.Random) -> str:
    words = " ".join(rng.choice(["budget", "service", "team", "review", "data"]) for _ in range(12))
    return f"{MARK} {words} #benchmark"


def run_phase(seconds: float, clients: int, make_worker) -> dict:
    """`clients` threads call their worker's `step()` until the time is up."""
    stop_at = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def loop(index: int) -> None:
        step = make_worker(index)
        mine, failed = [], 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                step()
            except Exception:  # noqa: BLE001  (counted, reported)
                failed += 1
                continue
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "per_second": round(len(latencies) / elapsed, 1),
        "latency": summary(latencies),
    }


def http_worker(port: int, method: str, path: str, headers: dict, make_body=None):
    def make(_index: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        rng = random.Random(_index)

        def step() -> None:
            payload = json.dumps({"body": make_body(rng)}) if make_body else None
            conn.request(method, path, body=payload, headers={"Host": "localhost", **headers})
            response = conn.getresponse()
            response.read()
            if response.status not in (200, 201):
                raise RuntimeError(f"{method} {path}: HTTP {response.status}")

        return step

    return make


def insert_worker(database_url: str, author_id: int, agency_id: int):
    """The same rows as create_post writes for a plain post: the post and its outbox event."""

    def make(index: int):
        import psycopg

        conn = psycopg.connect(database_url)
        rng = random.Random(1000 + index)

        def step() -> None:
            text = body(rng)
            with conn.transaction():
                post_id = conn.execute(
                    "INSERT INTO feeds_post (author_id, body, body_html, audience, agency_id, "
                    "is_announcement, created) VALUES (%s, %s, %s, 'everyone', %s, false, now()) "
                    "RETURNING id",
                    (author_id, text, f"<p>{text}</p>", agency_id),
                ).fetchone()[0]
                conn.execute(
                    "INSERT INTO outbox_outboxevent (topic, object_id, payload, created, "
                    "available_at, attempts, last_error) "
                    "VALUES ('bench.insert', %s, '{}', now(), now() + interval '1 day', 0, '')",
                    (post_id,),
                )

        return step

    return make


def outbox_backlog(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM outbox_outboxevent WHERE topic <> 'bench.insert'"
        ).fetchone()[0]


def wait_drained(database_url: str, timeout: float = 300) -> tuple[float, int]:
    """Seconds until the worker emptied the outbox, and the backlog it started from."""
    started = time.perf_counter()
    first = outbox_backlog(database_url)
    while time.perf_counter() - started < timeout:
        if outbox_backlog(database_url) == 0:
            return round(time.perf_counter() - started, 2), first
        time.sleep(0.2)
    return -1.0, first


def pick_authors() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT u.id, p.agency_id, count(f.id) AS followers
            FROM auth_user u JOIN profiles_profile p ON p.user_id = u.id
            LEFT JOIN profiles_follow f ON f.followee_id = u.id
            WHERE u.is_active GROUP BY u.id, p.agency_id ORDER BY followers, u.id
            """
        )
        rows = cursor.fetchall()
    ordinary, popular = rows[len(rows) // 2], rows[-1]
    return {
        "ordinary": {"id": ordinary[0], "agency": ordinary[1], "followers": ordinary[2]},
        "most_followed": {"id": popular[0], "agency": popular[1], "followers": popular[2]},
    }


def delete_rows(conn, table: str, ids: list[int], depth: int = 0) -> None:
    """Delete rows and, first, every row that points at them (foreign keys, recursively)."""
    if not ids or depth > 4:
        return
    references = conn.execute(
        """
        SELECT c.conrelid::regclass::text, a.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND c.confrelid = %s::regclass
        """,
        (table,),
    ).fetchall()
    for child, column in references:
        if child == table:  # replies to comments
            rows = conn.execute(
                f'SELECT id FROM {child} WHERE "{column}" = ANY(%s)',  # noqa: S608  (catalogue)
                (ids,),
            ).fetchall()
            delete_rows(conn, child, [r[0] for r in rows if r[0] not in ids], depth + 1)
            continue
        has_id = conn.execute(
            "SELECT 1 FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'id'",
            (child,),
        ).fetchone()
        if has_id:
            rows = conn.execute(
                f'SELECT id FROM {child} WHERE "{column}" = ANY(%s)',  # noqa: S608  (catalogue)
                (ids,),
            ).fetchall()
            delete_rows(conn, child, [r[0] for r in rows], depth + 1)
        else:
            conn.execute(
                f'DELETE FROM {child} WHERE "{column}" = ANY(%s)',  # noqa: S608  (catalogue)
                (ids,),
            )
    conn.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", (ids,))  # noqa: S608  (catalogue)


def cleanup(database_url: str, mark: str = MARK) -> int:
    """Delete the posts and comments a benchmark wrote, and the rows that point at them."""
    import psycopg

    deleted = 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM outbox_outboxevent WHERE topic = 'bench.insert'")
        with conn.transaction():
            for table in ("feeds_comment", "feeds_post"):
                ids = [
                    row[0]
                    for row in conn.execute(
                        f"SELECT id FROM {table} WHERE body LIKE %s",  # noqa: S608  (constants)
                        (mark + "%",),
                    ).fetchall()
                ]
                delete_rows(conn, table, ids)
                # The search index refers to them by id only (no foreign key): the outbox
                # worker indexed some of them while the benchmark ran.
                conn.execute(
                    "DELETE FROM search_searchdocument WHERE kind = %s AND object_id = ANY(%s)",
                    (table.removeprefix("feeds_"), ids),
                )
                deleted += len(ids)
    return deleted


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="Posting benchmark (module docstring).")
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results: dict = {"machine": machine(args.database_url)}
    started = time.perf_counter()
    ensure_data(args.database_url)
    setup_django(args.database_url)
    from rest_framework.authtoken.models import Token

    rng = random.Random(args.seed)
    authors = pick_authors()
    tokens = {
        name: Token.objects.get_or_create(user_id=a["id"])[0].key for name, a in authors.items()
    }
    cleanup(args.database_url)
    port = free_port()
    env = server_env(args.database_url, OUTBOX_CONSUMERS=CONSUMERS)
    server = start_uvicorn(env, port)
    worker = subprocess.Popen(  # noqa: S603  (our own worker, our own arguments)
        [sys.executable, "manage.py", "run_outbox"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        headers = {"Content-Type": "application/json"}
        phases = {
            "hello": http_worker(port, "GET", "/bench/hello/", {}),
            "ordinary": http_worker(
                port, "POST", "/api/posts/",
                {**headers, "Authorization": f"Token {tokens['ordinary']}"}, body,
            ),
            "most_followed": http_worker(
                port, "POST", "/api/posts/",
                {**headers, "Authorization": f"Token {tokens['most_followed']}"}, body,
            ),
            "insert": insert_worker(
                args.database_url, authors["ordinary"]["id"], authors["ordinary"]["agency"]
            ),
        }  # fmt: skip
        run_phase(2, 2, phases["hello"])  # warm up
        run_phase(2, 2, phases["ordinary"])
        wait_drained(args.database_url)
        rss = {"server_at_rest_kib": rss_kib(server.pid), "worker_at_rest_kib": rss_kib(worker.pid)}
        series: dict[str, list[dict]] = {name: [] for name in phases}
        drains: dict[str, list] = {"ordinary": [], "most_followed": []}
        for round_no in range(args.rounds):
            order = list(phases)
            rng.shuffle(order)
            for name in order:
                out = run_phase(args.seconds, args.clients, phases[name])
                if name in drains:
                    out["drain_seconds"], out["backlog"] = wait_drained(args.database_url)
                    drains[name].append(out["drain_seconds"])
                series[name].append(out)
                print(f"  round {round_no + 1} {name}: {out}", flush=True)
        rss["server_after_kib"] = rss_kib(server.pid)
        rss["worker_after_kib"] = rss_kib(worker.pid)
    finally:
        stop(server)
        stop(worker)
    results["phases"] = series
    results["rss"] = rss
    results["authors"] = authors
    results["deleted_posts"] = cleanup(args.database_url)
    results.update(
        clients=args.clients,
        rounds=args.rounds,
        phase_seconds=args.seconds,
        seconds=round(time.perf_counter() - started),
    )
    results["machine"]["load_average_after"] = load_average()
    (ROOT / "var" / "bench-write.json").write_text(json.dumps(results, indent=1, default=str))
    report = render(results)
    print(report)
    if not args.no_docs:
        write_docs(report, START_MARK, END_MARK)


def render(results: dict) -> str:
    phases = results["phases"]

    def rate(name: str) -> float:
        done = sum(p["requests"] for p in phases[name])
        return done / (results["phase_seconds"] * len(phases[name]))

    def latencies(name: str) -> dict:
        # the p50/p95 of the round with the median throughput (rounds are interleaved)
        rounds = sorted(phases[name], key=lambda p: p["per_second"])
        return rounds[len(rounds) // 2]["latency"]

    hello = rate("hello")
    a = results["authors"]
    lines = [
        "## Posting (issue 7)",
        "",
        machine_line(results["machine"], results["seconds"]),
        f"`POST /api/posts/` (JSON, token) on uvicorn as docker-compose.yml runs it (one "
        "process, Redis for live updates, the outbox worker with search indexing and "
        f"notifications in its own process), {results['clients']} concurrent keep-alive "
        f"clients, {results['rounds']} rounds of {results['phase_seconds']:g} s per phase, "
        "phases shuffled in each round. Latency in ms, p50 / p95 / max (the round with the "
        'median throughput). "Outbox drained": seconds from the end of a posting phase '
        "until the worker had handled every event.",
        "",
        "| phase | requests/s (rounds) | / hello world | latency | errors | outbox drained (s) |",
        "|---|---|---|---|---|---|",
    ]
    labels = {
        "hello": "`GET /bench/hello/`",
        "ordinary": f"post, ordinary author ({a['ordinary']['followers']} followers)",
        "most_followed": f"post, most-followed author ({a['most_followed']['followers']} "
        "followers)",
        "insert": "bare INSERT of the same rows (post + outbox event; psycopg)",
    }
    for name, label in labels.items():
        per_round = ", ".join(f"{p['per_second']:g}" for p in phases[name])
        drained = ", ".join(f"{p['drain_seconds']:g}" for p in phases[name] if "drain_seconds" in p)
        lines.append(
            f"| {label} | {rate(name):.1f} ({per_round}) | **{rate(name) / hello:.2f}** | "
            f"{cell(latencies(name), 1)} | {sum(p['errors'] for p in phases[name])} | "
            f"{drained or '–'} |"
        )
    rss = results["rss"]
    lines += [
        "",
        f"Posting against a bare INSERT of its rows: {rate('ordinary') / rate('insert'):.2f} "
        f"(ordinary), {rate('most_followed') / rate('insert'):.2f} (most followed). Most "
        f"followed against ordinary: {rate('most_followed') / rate('ordinary'):.2f}. Memory "
        f"(RSS): server {rss['server_at_rest_kib'] // 1024} MiB at rest, "
        f"{rss['server_after_kib'] // 1024} MiB after; worker {rss['worker_at_rest_kib'] // 1024}"
        f" MiB at rest, {rss['worker_after_kib'] // 1024} MiB after. "
        f"{results['deleted_posts']:,} rows written by the run were deleted afterwards.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
