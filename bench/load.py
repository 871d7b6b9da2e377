"""Load test (issue 7): a mixed workload against the production layout for 2 cores.

One command (needs the network of bench/generate.py and locust, `pip install -e ".[bench]"`;
writes docs/BENCHMARKS.md):

    .venv/bin/python bench/load.py
    .venv/bin/python bench/load.py --steps 2,8 --seconds 10 --no-docs     # quicker

The server is uvicorn as docker-compose.yml runs it (one process; `--workers 2` as well with
`--layouts 1,2`), Redis for live updates, and the outbox worker with the real consumers in a
process of its own. locust (headless, on the same machine: it takes CPU from the server, as
any client on 127.0.0.1 would) runs closed-loop users without think time, at increasing
concurrency (`--steps`); at each step the same number of users first calls the hello-world
view (the baseline, same server, same step), then runs the mix:

- 80% feed reads: the home page `GET /` (HTML, session) 60%, `GET /api/feed/home/` 20%;
- 10% writes: `POST /api/posts/` 5%, `POST /api/posts/<id>/comments/` 5%;
- 10% search and profiles: `GET /search/?q=<word>` 5%, `GET /people/<username>/` 5%.

Reported per step: requests/s, p50/p95/p99, the error rate, and the server's RSS (at rest,
and the largest seen under load). "Throughput at p95 under 200 ms" is the best step whose
p95 stays under 200 ms. The posts and comments written here are deleted at the end.

When locust imports this file (AGORA_LOAD_USERS set), it only defines the simulated users.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

if os.environ.get("AGORA_LOAD_USERS"):  # imported by locust: the simulated users only
    from locust import HttpUser, constant, task

    _PEOPLE = json.loads(Path(os.environ["AGORA_LOAD_USERS"]).read_text())
    _WORDS = _PEOPLE["words"]

    class Staff(HttpUser):
        wait_time = constant(0)

        def on_start(self) -> None:
            me = random.choice(_PEOPLE["viewers"])
            self.client.cookies.set(_PEOPLE["cookie_name"], me["session"])
            self.client.headers["Host"] = "localhost"
            self.api = {"Authorization": f"Token {me['token']}"}
            self.posts = list(_PEOPLE["posts"])

        @task(60)
        def home(self) -> None:
            self.client.get("/", name="home page")

        @task(20)
        def api_feed(self) -> None:
            self.client.get("/api/feed/home/", headers=self.api, name="api home feed")

        @task(5)
        def write_post(self) -> None:
            body = f"benchload {' '.join(random.choices(_WORDS, k=10))}"
            self.client.post("/api/posts/", json={"body": body}, headers=self.api, name="post")

        @task(5)
        def comment(self) -> None:
            post = random.choice(self.posts)
            self.client.post(
                f"/api/posts/{post}/comments/",
                json={"body": f"benchload {' '.join(random.choices(_WORDS, k=6))}"},
                headers=self.api,
                name="comment",
            )

        @task(5)
        def search(self) -> None:
            self.client.get(f"/search/?q={random.choice(_WORDS)}", name="search")

        @task(5)
        def profile(self) -> None:
            self.client.get(f"/people/{random.choice(_PEOPLE['usernames'])}/", name="profile")

    class Hello(HttpUser):
        """The baseline: selected with the class name on locust's command line."""

        wait_time = constant(0)

        @task
        def hello(self) -> None:
            self.client.get("/bench/hello/", name="hello", headers={"Host": "localhost"})

else:
    import argparse
    import csv
    import subprocess
    import threading
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.feed import (
        DATABASE_URL,
        ROOT,
        ensure_data,
        free_port,
        load_average,
        machine,
        machine_line,
        pick_viewers,
        server_env,
        sessions_for,
        setup_django,
        start_uvicorn,
        stop,
        tokens_for,
        write_docs,
    )
    from bench.write import CONSUMERS

    START_MARK = "<!-- bench/load.py: start -->"
    END_MARK = "<!-- bench/load.py: end -->"
    MARK = "benchload"
    CSV_DIR = ROOT / "var" / "bench-load"

    def rss_kib(pid: int) -> int:
        """RSS of a process and its children (uvicorn --workers runs children)."""
        total = 0
        pids = [pid]
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pids += [int(c) for c in children]
        except OSError:
            pass
        for p in pids:
            try:
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total

    class Sampler(threading.Thread):
        def __init__(self, pid: int):
            super().__init__(daemon=True)
            self.pid, self.peak, self.running = pid, 0, True

        def run(self) -> None:
            while self.running:
                self.peak = max(self.peak, rss_kib(self.pid))
                time.sleep(0.5)

    def people_file(args) -> Path:
        from django.conf import settings
        from django.db import connection

        from bench.generate import vocabulary

        rng = random.Random(args.seed)
        viewers = [v[0] for v in pick_viewers(args.viewers, rng)]
        sessions, tokens = sessions_for(viewers), tokens_for(viewers)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM feeds_post WHERE audience = 'everyone' AND deleted IS NULL "
                "ORDER BY id DESC LIMIT 200"
            )
            posts = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT username FROM auth_user WHERE is_active ORDER BY id")
            usernames = [row[0] for row in cursor.fetchall()]
        words = vocabulary()[200:2400:10]  # words in about 0.1% to 1% of posts
        data = {
            "viewers": [{"session": sessions[v], "token": tokens[v]} for v in viewers],
            "cookie_name": settings.SESSION_COOKIE_NAME,
            "posts": posts,
            "usernames": rng.sample(usernames, 500),
            "words": words,
        }
        CSV_DIR.mkdir(parents=True, exist_ok=True)
        path = CSV_DIR / "people.json"
        path.write_text(json.dumps(data))
        return path

    def run_locust(port: int, users: int, seconds: float, user_class: str, people: Path):
        prefix = CSV_DIR / f"{user_class}-{users}"
        env = dict(os.environ, AGORA_LOAD_USERS=str(people))
        subprocess.run(  # noqa: S603  (our own locust, our own arguments)
            [
                str(ROOT / ".venv" / "bin" / "locust"), "-f", __file__, "--headless",
                "-u", str(users), "-r", str(users), "-t", f"{int(seconds)}s",
                "-H", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
                "--loglevel", "WARNING", "--stop-timeout", "10", user_class,
            ],
            cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        with open(f"{prefix}_stats.csv", newline="") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}

        def number(text: str) -> float:
            try:
                return float(text)
            except ValueError:  # "N/A": no request finished
                return 0.0

        def pick(row: dict) -> dict:
            return {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "per_second": round(number(row["Requests/s"]), 1),
                "p50": number(row["50%"]),
                "p95": number(row["95%"]),
                "p99": number(row["99%"]),
            }

        return {name: pick(row) for name, row in rows.items()}

    def warm_up(port: int, people: Path) -> None:
        """The first requests import and compile what the pages need: not part of a step."""
        import http.client

        data = json.loads(people.read_text())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for viewer in data["viewers"][:5]:
            for path, headers in (
                ("/", {"Cookie": f"{data['cookie_name']}={viewer['session']}"}),
                ("/api/feed/home/", {"Authorization": f"Token {viewer['token']}"}),
                (f"/search/?q={data['words'][0]}", {}),
                (f"/people/{data['usernames'][0]}/", {}),
            ):
                conn.request("GET", path, headers={"Host": "localhost", **headers})
                conn.getresponse().read()
        run_locust(port, 2, 5, "Staff", people)
        time.sleep(1)

    def cleanup(database_url: str) -> int:
        from bench.write import cleanup as delete_written

        return delete_written(database_url, MARK)

    def main() -> None:
        parser = argparse.ArgumentParser(description="Load test (module docstring).")
        parser.add_argument("--database-url", default=DATABASE_URL)
        parser.add_argument("--steps", default="1,2,4,8,16,32", help="concurrent users")
        parser.add_argument("--seconds", type=float, default=20)
        parser.add_argument("--layouts", default="1", help="uvicorn processes: 1 or 1,2")
        parser.add_argument("--viewers", type=int, default=100)
        parser.add_argument("--no-docs", action="store_true")
        parser.add_argument("--seed", type=int, default=7)
        args = parser.parse_args()
        results: dict = {"machine": machine(args.database_url), "layouts": {}}
        started = time.perf_counter()
        ensure_data(args.database_url)
        setup_django(args.database_url)
        people = people_file(args)
        for layout in [int(x) for x in args.layouts.split(",")]:
            port = free_port()
            env = server_env(args.database_url, OUTBOX_CONSUMERS=CONSUMERS)
            server = start_uvicorn(env, port, workers=layout)
            worker = subprocess.Popen(  # noqa: S603  (our own worker)
                [sys.executable, "manage.py", "run_outbox"], cwd=ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            out: dict = {"steps": {}}
            try:
                warm_up(port, people)
                out["rss_at_rest_kib"] = rss_kib(server.pid)
                out["worker_rss_at_rest_kib"] = rss_kib(worker.pid)
                for users in [int(x) for x in args.steps.split(",")]:
                    hello = run_locust(port, users, args.seconds, "Hello", people)
                    sampler = Sampler(server.pid)
                    sampler.start()
                    mixed = run_locust(port, users, args.seconds, "Staff", people)
                    sampler.running = False
                    sampler.join()
                    out["steps"][users] = {
                        "hello": hello.get("Aggregated", {}),
                        "mixed": mixed,
                        "rss_peak_kib": sampler.peak,
                    }
                    agg = mixed.get("Aggregated", {})
                    print(
                        f"  {layout} process(es), {users} users: hello "
                        f"{hello.get('Aggregated')}, mixed {agg}, rss {sampler.peak} KiB",
                        flush=True,
                    )
                out["worker_rss_after_kib"] = rss_kib(worker.pid)
            finally:
                stop(server)
                stop(worker)
            results["layouts"][layout] = out
        results["deleted_rows"] = cleanup(args.database_url)
        results.update(seconds=round(time.perf_counter() - started), step_seconds=args.seconds)
        results["machine"]["load_average_after"] = load_average()
        (ROOT / "var" / "bench-load.json").write_text(json.dumps(results, indent=1, default=str))
        report = render(results)
        print(report)
        if not args.no_docs:
            write_docs(report, START_MARK, END_MARK)

    def render(results: dict) -> str:
        lines = [
            "## Load test (issue 7)",
            "",
            machine_line(results["machine"], results["seconds"]),
            "locust (headless, on the same machine) against uvicorn as docker-compose.yml runs "
            "it, with Redis and the outbox worker (search indexing, notifications); closed-loop "
            f"users without think time, {results['step_seconds']:g} s per step; at each step "
            "the same number of users first calls `GET /bench/hello/` (the baseline), then "
            "runs the mix: 80% feed reads (home page 60%, API home feed 20%), 10% writes "
            "(posts 5%, comments 5%), 10% search (5%) and profile pages (5%). Latency in ms.",
        ]
        for layout, out in results["layouts"].items():
            lines += [
                "",
                f"**{layout} uvicorn process{'es' if int(layout) > 1 else ''}** (server RSS at "
                f"rest {out['rss_at_rest_kib'] // 1024} MiB; worker "
                f"{out['worker_rss_at_rest_kib'] // 1024} MiB at rest, "
                f"{out['worker_rss_after_kib'] // 1024} MiB after).",
                "",
                "| users | hello req/s (p95) | mix req/s | mix / hello | p50 | p95 | p99 | errors "
                "| home page p95 | API feed p95 | post p95 | comment p95 | search p95 | "
                "profile p95 | server RSS peak (MiB) |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            best = None
            for users, step in out["steps"].items():
                hello, mixed = step["hello"], step["mixed"]
                agg = mixed.get("Aggregated", {})
                if not agg:
                    continue
                errors = agg["failures"] / agg["requests"] if agg["requests"] else 0

                def p95(name: str, mixed=mixed) -> str:
                    return f"{mixed[name]['p95']:g}" if name in mixed else "–"

                lines.append(
                    f"| {users} | {hello.get('per_second', 0):g} ({hello.get('p95', 0):g}) | "
                    f"**{agg['per_second']:g}** | "
                    f"{agg['per_second'] / hello['per_second']:.2f} | {agg['p50']:g} | "
                    f"**{agg['p95']:g}** | {agg['p99']:g} | {errors:.2%} | {p95('home page')} "
                    f"| {p95('api home feed')} | {p95('post')} | {p95('comment')} | "
                    f"{p95('search')} | {p95('profile')} | {step['rss_peak_kib'] // 1024} |"
                )
                if agg["p95"] < 200 and (best is None or agg["per_second"] > best[1]):
                    best = (users, agg["per_second"], errors)
            if best:
                lines += [
                    "",
                    f"Throughput at p95 under 200 ms: **{best[1]:g} requests/s** ({best[0]} "
                    f"user{'s' if int(best[0]) > 1 else ''}), error rate {best[2]:.2%}.",
                ]
            else:
                lines += ["", "No step kept p95 under 200 ms."]
            failures = {
                name: row["failures"]
                for step in out["steps"].values()
                for name, row in step["mixed"].items()
                if name != "Aggregated" and row["failures"]
            }
            if failures:
                lines.append(
                    "Failed requests (all steps): "
                    + ", ".join(f"{name} {n}" for name, n in sorted(failures.items()))
                    + " (see var/bench-load/*_failures.csv; a 503 is intranet/middleware.py's "
                    "answer when the database cannot be reached)."
                )
        lines += ["", f"{results['deleted_rows']:,} rows written by the run were deleted."]
        return "\n".join(lines)

    if __name__ == "__main__":
        main()
