"""The soak: a real server at a fixed, modest rate for minutes, and it does not wear down.

A daphne process serves Agora from a database on a throwaway PostgreSQL cluster, with a
redis-server of its own (tests/integration/services.py). Four people signed in over HTTP read
their feeds (page and API), search, write posts, comments and reactions, following a fixed
cycle at AGORA_SOAK_RATE requests per second (default 8) for AGORA_SOAK_SECONDS (default 300),
open loop: a request's latency counts from when it was due, so a server that falls behind
shows it. Each person also keeps a live websocket open for the whole run.

The database starts as a site in use (soak_prefill.py: 240 posts with comments and
reactions, so every page read is full from the first minute), and a 10 s warm-up precedes the
measurement.

Behaviour, in ratios (never absolute times): no 5xx and no failed request; p95 latency of the
last minute at most 1.25 x that of the first; the server's resident memory grows at most 15%
from the end of the first minute to the end; the follower's socket heard every post it should.
"Minute" is min(60 s, a fifth of the run), so a short run (AGORA_SOAK_SECONDS=60) keeps the
same shape.

The machine is measured beside the server, as every benchmark here has its baseline in the
same run: a fixed busy loop in the test process is timed twice a second. On the machines this
runs on its speed moves by 10-25% from one minute to another, and the server's CPU time per
request follows it (a run's five windows: 1.40-1.45 x the loop's p95 in each). So the p95
drift is divided by the loop's own drift over the same two minutes when the loop slowed (a
machine that sped up is not credited to the server). When the run still drifts and the loop
slowed by more than 10%, the machine changed too much under the run to tell; the soak runs
again on a fresh server and database, up to three runs in all, and the last decides. Every
other check holds in every run. (On a slower machine, 2026-12-06, a first run ended with the
loop 1.20 x slower and the server's CPU per request 1.39 x, drift 1.25 over the machine's;
the run after it: drift 1.01, CPU per request flat.) The summary printed (CI's log keeps
it) has each window's p95, CPU per request and loop time.

Runs only when asked (AGORA_SOAK=1, AGORA_SOAK_SECONDS=...) and in CI's PostgreSQL run
(.ci/run gives it an invocation of its own, so other tests do not load the machine).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.realtime.server import Browserless, Daphne

from .load import Listener, call, open_socket, run_async
from .services import LIVE_PASSWORD, cpu_seconds, rss_bytes

PREFILL = Path(__file__).with_name("soak_prefill.py")

pytestmark = [pytest.mark.integration, pytest.mark.soak]

SECONDS = float(os.environ.get("AGORA_SOAK_SECONDS") or 300)
RATE = float(os.environ.get("AGORA_SOAK_RATE") or 8)
WARM_UP = 10.0  # seconds of the same load before measuring
MAX_P95_DRIFT = 1.25  # last minute's p95 over the first's, over the machine's own drift
# A run that drifted while the machine's own busy loop (Calibration) slowed by more than this
# between the same two minutes timed a machine that changed under it: it runs again.
MAX_MACHINE_DRIFT = 1.10
ATTEMPTS = 3
MAX_RSS_GROWTH = 0.15
BIRDS = ["kingfisher", "heron", "curlew", "lapwing", "osprey", "bittern", "plover", "wren"]
# Posts already there when the soak starts (30 per bird: every search page is full), as many
# as a 300 s run at 8 requests per second adds.
PREFILL_POSTS = 240


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


class Workload:
    """The fixed cycle of requests (20% writes), spread over four people."""

    def __init__(self, people: dict[str, Browserless]):
        self.people = people
        self.recent_posts: list[int] = []
        self.lock = threading.Lock()
        self.ana_posts: list[int] = []

    def recent(self, n: int) -> int | None:
        with self.lock:
            if not self.recent_posts:
                return None
            return self.recent_posts[-1 - n % min(len(self.recent_posts), 20)]

    def request(self, n: int, due: float):
        p = self.people
        bird = BIRDS[n % len(BIRDS)]
        step = n % 10
        post = self.recent(n)
        if step == 2 or post is None:
            answer = call(p["ana"], "POST", "/api/posts/",
                          {"body": f"Soak {n}: a {bird} by the lake #soak{n % 5}"},
                          kind="write post", started=due)  # fmt: skip
            if answer.status == 201:
                with self.lock:
                    self.recent_posts.append(answer.json()["id"])
                    self.ana_posts.append(answer.json()["id"])
            return answer
        if step == 0:
            return call(p["bob"], "GET", "/", kind="home page", started=due)
        if step == 1:
            return call(p["dora"], "GET", "/api/feed/home/", kind="home api", started=due)
        if step == 3:
            return call(p["carl"], "GET", f"/api/search/?q={bird}", kind="search api", started=due)
        if step == 4:
            return call(p["bob"], "POST", f"/api/posts/{post}/comments/",
                        {"body": f"Seen the {bird} too"}, kind="write comment",
                        started=due)  # fmt: skip
        if step == 5:
            return call(p["carl"], "GET", "/api/feed/home/", kind="home api", started=due)
        if step == 6:
            return call(p["dora"], "GET", f"/posts/{post}/", kind="post page", started=due)
        if step == 7:
            return call(p["bob"], "GET", f"/api/posts/{post}/comments/", kind="comments api",
                        started=due)  # fmt: skip
        if step == 8:
            return call(p["carl"], "GET", f"/search/?q={bird}", kind="search page", started=due)
        kind = ["like", "thanks", "insightful"][n % 3]
        return call(p["dora"], "POST", f"/api/posts/{post}/reactions/", {"kind": kind},
                    kind="write reaction", started=due)  # fmt: skip


class Calibration(threading.Thread):
    """A fixed busy loop timed twice a second: how fast the machine itself is, over time."""

    def __init__(self):
        super().__init__(name="calibration", daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.halt = threading.Event()
        self.started = 0.0

    def run(self) -> None:
        while not self.halt.wait(0.5):
            began = time.monotonic()
            total = 0
            for i in range(200_000):
                total += i * i
            self.samples.append((began, time.monotonic() - began))

    def stop(self) -> None:
        self.halt.set()
        self.join(10)

    def p95_ms(self, low: float, high: float) -> float | None:
        times = [t for at, t in self.samples if low <= at - self.started < high]
        return round(p95(times) * 1000, 1) if len(times) >= 2 else None

    def drift(self, window: float, seconds: float) -> float | None:
        first = [t for at, t in self.samples if 0 <= at - self.started < window]
        last = [t for at, t in self.samples if at - self.started >= seconds - window]
        if len(first) < 2 or len(last) < 2:
            return None
        return round(p95(last) / p95(first), 3)


def run_at_rate(workload: Workload, *, rate: float, seconds: float, pool: ThreadPoolExecutor,
                on_tick=None):  # fmt: skip
    """Start request n at start + n / rate (open loop); returns (start, answers)."""
    start = time.monotonic()
    futures = []
    n = 0
    while True:
        due = start + n / rate
        if due - start >= seconds:
            break
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        futures.append(pool.submit(workload.request, n, due))
        if on_tick is not None:
            on_tick(due - start)
        n += 1
    return start, [future.result() for future in futures]


def soak_once(database, redis_url: str, websockets_client) -> tuple[dict, dict]:
    """One run on a fresh server and database; returns (summary, what the asserts need)."""
    server = Daphne(database, redis_url=redis_url, name="soak")
    try:
        server.script(PREFILL, str(PREFILL_POSTS), *BIRDS)
        people = {
            name: Browserless(server.base, name, LIVE_PASSWORD)
            for name in ("ana", "bob", "carl", "dora")
        }
        workload = Workload(people)
        window = min(60.0, SECONDS / 5)
        rss: list[tuple[float, int]] = []
        cpu: list[tuple[float, float]] = []

        def sample_rss(elapsed: float) -> None:
            if not cpu or elapsed - cpu[-1][0] >= 1:
                cpu.append((elapsed, cpu_seconds(server.process.pid)))
            if not rss or elapsed - rss[-1][0] >= 5:
                rss.append((elapsed, rss_bytes(server.process.pid)))

        async def body():
            listeners = {
                name: Listener(await open_socket(websockets_client, server, person))
                for name, person in people.items()
            }
            machine = Calibration()
            machine.start()
            with ThreadPoolExecutor(max_workers=32) as pool:
                await asyncio.to_thread(
                    run_at_rate, workload, rate=RATE, seconds=WARM_UP, pool=pool
                )
                started, answers = await asyncio.to_thread(
                    run_at_rate, workload, rate=RATE, seconds=SECONDS, pool=pool,
                    on_tick=sample_rss,
                )  # fmt: skip
            sample_rss(SECONDS)
            machine.stop()
            machine.started = started
            # Dora follows Ana: her home socket hears every post Ana wrote.
            dora = listeners["dora"]
            await dora.wait_for(
                lambda: set(workload.ana_posts) <= dora.post_ids(), 15, "all of Ana's posts"
            )
            open_sockets = [name for name, lis in listeners.items() if not lis.task.done()]
            for listener in listeners.values():
                await listener.close()
            return started, answers, open_sockets, machine

        started, answers, open_sockets, machine = run_async(body)
    finally:
        server.stop()

    def window_p95(low: float, high: float) -> float:
        return p95([a.latency for a in answers if low <= a.started - started < high])

    first, last = window_p95(0, window), window_p95(SECONDS - window, SECONDS)
    baseline = next(value for at, value in rss if at >= window)
    final = rss[-1][1]
    counts: dict[str, int] = {}
    for answer in answers:
        counts[f"{answer.status}"] = counts.get(f"{answer.status}", 0) + 1
    server_errors = sum(1 for a in answers if a.status >= 500)
    by_kind = {}
    for kind in sorted({a.kind for a in answers}):
        firsts = [a.latency for a in answers if a.kind == kind and a.started - started < window]
        lasts = [
            a.latency for a in answers if a.kind == kind and a.started - started >= SECONDS - window
        ]
        if len(firsts) >= 2 and len(lasts) >= 2:
            by_kind[kind] = [round(p95(firsts) * 1000, 1), round(p95(lasts) * 1000, 1)]

    def cpu_ms_per_request(low: float, high: float) -> float:
        begin = next(value for at, value in cpu if at >= low)
        end = next((value for at, value in cpu if at >= high), cpu[-1][1])
        count = sum(1 for a in answers if low <= a.started - started < high)
        return round((end - begin) / count * 1000, 2)

    machine_drift = machine.drift(window, SECONDS)
    drift = (last / first) / max(1.0, machine_drift or 1.0)
    summary = {
        "seconds": SECONDS,
        "rate": RATE,
        "requests": len(answers),
        "statuses": counts,
        "5xx": server_errors,
        "p95_first_ms": round(first * 1000, 1),
        "p95_last_ms": round(last * 1000, 1),
        "p95_drift": round(last / first, 3),
        "rss_after_first_window_mib": round(baseline / 2**20, 1),
        "rss_end_mib": round(final / 2**20, 1),
        "rss_growth": round(final / baseline - 1, 3),
        "p95_ms_by_kind_first_last": by_kind,
        # To read a failure: the server's CPU per request (it follows the machine's speed too),
        # and how much slower a fixed busy loop in the test process ran (the machine itself).
        "server_cpu_ms_per_request_first_last": [
            cpu_ms_per_request(0, window),
            cpu_ms_per_request(SECONDS - window, SECONDS),
        ],
        "machine_p95_drift": machine_drift,
        # What is asserted: the p95 drift over the machine's own, when the machine slowed.
        "p95_drift_over_machine": round(drift, 3),
        # Each window in turn: [p95 ms, server CPU ms per request, the busy loop's p95 ms].
        "by_window": [
            [
                round(window_p95(low, low + window) * 1000, 1),
                cpu_ms_per_request(low, low + window),
                machine.p95_ms(low, low + window),
            ]
            for low in (window * k for k in range(int(SECONDS // window)))
        ],
    }
    checks = {
        "people": list(people),
        "open_sockets": open_sockets,
        "bad": [(a.kind, a.status, a.text[:200]) for a in answers if a.status not in (200, 201)],
        "drift_ok": drift <= MAX_P95_DRIFT,
        "rss_ok": final <= (1 + MAX_RSS_GROWTH) * baseline,
        "log": server.log(),
    }
    return summary, checks


def test_soak(cluster_world, own_redis, websockets_client, request, capsys):
    for attempt in range(1, ATTEMPTS + 1):
        database = cluster_world.database("soak")
        try:
            summary, checks = soak_once(database, own_redis.url, websockets_client)
        finally:
            database.drop()
        summary["attempt"] = attempt
        with capsys.disabled():  # the figures, pass or fail (CI's log keeps them)
            print(f"\nsoak: {json.dumps(summary)}")
        request.node.user_properties.append((f"soak {attempt}", summary))

        # Whatever the machine did, these hold in every run.
        assert summary["5xx"] == 0, summary
        assert not checks["bad"], (summary, checks["bad"][:10])
        assert checks["open_sockets"] == checks["people"], "every socket stayed open all along"
        assert checks["rss_ok"], summary
        assert "Traceback" not in checks["log"], checks["log"][-3000:]
        machine = summary["machine_p95_drift"]
        if checks["drift_ok"] or machine is None or machine <= MAX_MACHINE_DRIFT:
            break
        # The machine's own busy loop slowed down between the first and last minute (another
        # tenant, a throttled CPU): this run timed the machine, not the server. Run again.
    assert checks["drift_ok"], summary
