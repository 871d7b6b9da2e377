"""Live-updates benchmark: commit -> socket latency for Agora against a bare server.

One command (makes its own Redis and database, measures, writes docs/BENCHMARKS.md):

    .venv/bin/python bench/live.py
    .venv/bin/python bench/live.py --rounds 10 --sizes 1000 --no-docs     # quicker look

What runs:
- a redis-server of its own on a spare port (flushed between designs);
- a database of its own: PostgreSQL `agora_live_bench` when 127.0.0.1:5432 answers (else
  SQLite in a temporary folder), with 3,000 signed-in staff (real session rows), all members
  of one private group, the first 1,000 following one author;
- the servers under test, each in its own process: Agora (`intranet.asgi`) under daphne (the
  default) and under uvicorn; the bare baseline (bench/live_bare.py: the websockets library
  and Redis pub/sub, one JSON encode per message); and, at 1,000 sockets, two designs Agora
  does not ship (bench/live_variants.py): the textbook per-socket channel groups, and the
  hub on RedisPubSubChannelLayer;
- two client processes holding the sockets (websockets' sans-I/O protocol on asyncio: a
  receipt costs a few microseconds, so the clients do not hide the servers' costs). Each
  socket signs in with its own session (Agora) and timestamps each message on arrival.

This process writes posts with `feeds.actions.create_post`, exactly as a request does;
"commit" is stamped by an on-commit hook registered before the action's own (so the time
includes loading the post, rendering its card in each language and the channel-layer send).
For the baseline the stamp is taken just before the Redis PUBLISH of a message of the same
size. Scenarios, interleaved round by round with the baseline:
- broadcast: a post in the private group reaches all N sockets (members on their home feed);
- followers: a post for everyone by the author reaches the 1,000 sockets that follow her
  (at N = 3,000 the other 2,000 sockets are on the same stream and must get nothing);
- per-user fan-out (the alternative): the same message sent to each follower's own stream;
- a connection storm: all N sockets connect at once; then memory per idle socket (the
  server's RSS growth / N).
Every message must reach exactly the sockets it should: a missing or extra delivery fails
the run (a lost message is a failure, not a statistic).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "BENCHMARKS.md"
START_MARK = "<!-- bench/live.py: start -->"
END_MARK = "<!-- bench/live.py: end -->"
PG_URL = "postgres://postgres@127.0.0.1:5432/agora_live_bench"
USERS = 3000
FOLLOWERS = 1000
BARE_CHANNEL = "bare"
BARE_IDS = 1_000_000_000  # baseline message ids start here (post ids stay far below)
ID_RE = re.compile(rb'"id":(\d+)')
DELIVERY_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "min": round(ordered[0], 2),
        "p50": round(at(0.50), 2),
        "p95": round(at(0.95), 2),
        "p99": round(at(0.99), 2),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


def _die_with_parent() -> None:
    """Children (Redis, servers) end when this process ends, even if it is killed."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- client processes --------------------------------------------------------------------------


def client_main(conn, index: int) -> None:
    """A client process: holds sockets, timestamps what arrives, answers the master."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(Client(conn, index).run())


class Client:
    def __init__(self, conn, index: int):
        self.conn = conn
        self.index = index
        self.sockets: dict[str, list] = defaultdict(list)
        self.received: dict[int, list[int]] = defaultdict(list)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.commands: asyncio.Queue = asyncio.Queue()
        loop.add_reader(self.conn.fileno(), lambda: self.commands.put_nowait(self.conn.recv()))
        while True:
            command, args = await self.commands.get()
            if command == "stop":
                return
            result = await getattr(self, command)(**args)
            self.conn.send(result)

    async def connect(self, name, host, port, path, people, origin, concurrency):
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(concurrency)
        uri = parse_uri(f"ws://{host}:{port}{path}")
        ok = failed = 0
        errors: dict[str, int] = defaultdict(int)
        started = time.monotonic()

        async def one(cookie):
            nonlocal ok, failed
            async with gate:
                protocol = ClientProtocol(uri, origin=origin, max_size=None)
                try:
                    _transport, sock = await asyncio.wait_for(
                        loop.create_connection(lambda: Socket(self, protocol, cookie), host, port),
                        60,
                    )
                    await asyncio.wait_for(sock.ready, 60)
                except Exception as exc:  # noqa: BLE001 (counted and reported)
                    failed += 1
                    errors[f"{type(exc).__name__}: {exc}"[:100]] += 1
                    return
                ok += 1
                self.sockets[name].append(sock)

        await asyncio.gather(*(one(cookie) for cookie in people))
        return {
            "ok": ok,
            "failed": failed,
            "errors": dict(errors),
            "seconds": round(time.monotonic() - started, 2),
        }

    async def disconnect(self, name):
        for sock in self.sockets.pop(name, []):
            sock.close()
        await asyncio.sleep(0.5)
        return {"closed": True}

    async def counts(self, ids):
        return {i: len(self.received.get(i, ())) for i in ids}

    async def collect(self, ids):
        return {i: self.received.pop(i, []) for i in ids}

    async def reset(self):
        self.received.clear()
        return {}


class Socket(asyncio.Protocol):
    """One websocket on websockets' sans-I/O protocol: no task, no queue per socket."""

    def __init__(self, client: Client, protocol, cookie: str | None):
        self.client = client
        self.protocol = protocol
        self.request = protocol.connect()
        if cookie:
            self.request.headers["Cookie"] = cookie
        self.ready = asyncio.get_running_loop().create_future()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.protocol.send_request(self.request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        from websockets.frames import Frame, Opcode

        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    match = ID_RE.search(event.data, 0, 80)
                    if match:
                        self.client.received[int(match.group(1))].append(now)
                    elif event.data.startswith(b'{"kind":"ready"}') and not self.ready.done():
                        self.ready.set_result(True)
            elif self.protocol.handshake_exc is not None and not self.ready.done():
                self.ready.set_exception(self.protocol.handshake_exc)
        self._flush()

    def _flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk and self.transport is not None and not self.transport.is_closing():
                self.transport.write(chunk)

    def connection_lost(self, exc) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before ready ({exc!r})"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _merged(counters: list[dict]) -> dict:
    total: dict[str, int] = defaultdict(int)
    for counter in counters:
        for key, value in counter.items():
            total[key] += value
    return dict(total)


class Clients:
    """The master's handle on the client processes (sockets split evenly between them)."""

    def __init__(self, count: int):
        context = multiprocessing.get_context("spawn")
        self.pipes, self.processes = [], []
        for index in range(count):
            parent, child = context.Pipe()
            process = context.Process(target=client_main, args=(child, index), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    async def ask(self, command: str, per_client: list[dict] | None = None, **args) -> list:
        for index, pipe in enumerate(self.pipes):
            pipe.send((command, per_client[index] if per_client else args))
        return [await asyncio.to_thread(pipe.recv) for pipe in self.pipes]

    async def connect(self, name, port, path, cookies, origin) -> dict:
        shares = [cookies[i :: len(self.pipes)] for i in range(len(self.pipes))]
        per_client = [
            {
                "name": name,
                "host": "127.0.0.1",
                "port": port,
                "path": path,
                "people": share,
                "origin": origin,
                "concurrency": 250,
            }
            for share in shares
        ]
        started = time.monotonic()
        answers = await self.ask("connect", per_client)
        return {
            "ok": sum(a["ok"] for a in answers),
            "failed": sum(a["failed"] for a in answers),
            "errors": _merged([a["errors"] for a in answers]),
            "seconds": round(time.monotonic() - started, 2),
        }

    async def wait_for(self, ids: list[int], expected: dict[int, int]) -> dict[int, int]:
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while True:
            totals: dict[int, int] = defaultdict(int)
            for answer in await self.ask("counts", ids=ids):
                for i, n in answer.items():
                    totals[i] += n
            if all(totals[i] >= expected[i] for i in ids) or time.monotonic() > deadline:
                await asyncio.sleep(0.05)  # late extras would show up now
                totals = defaultdict(int)
                for answer in await self.ask("counts", ids=ids):
                    for i, n in answer.items():
                        totals[i] += n
                return dict(totals)
            await asyncio.sleep(0.01)

    async def collect(self, ids: list[int]) -> dict[int, list[int]]:
        merged: dict[int, list[int]] = defaultdict(list)
        for answer in await self.ask("collect", ids=ids):
            for i, times in answer.items():
                merged[i].extend(times)
        return merged

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.send(("stop", {}))
        for process in self.processes:
            process.join(timeout=10)


# --- services ----------------------------------------------------------------------------------


class Redis:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(  # noqa: S603 (our own fixed command)
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir),
             "--maxclients", "10000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )  # fmt: skip
        self.client = None
        deadline = time.monotonic() + 10
        while True:
            try:
                import redis

                self.client = redis.Redis.from_url(self.url)
                self.client.ping()
                return
            except Exception:  # noqa: BLE001
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def flush(self) -> None:
        self.client.flushall()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Server:
    """One server process under test."""

    def __init__(self, name: str, command: list[str], env: dict, workdir: Path, port: int):
        self.name = name
        self.port = port
        self.log_path = workdir / f"{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(  # noqa: S603 (our own fixed commands)
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log_path.read_text()
                    raise RuntimeError(f"{name} did not start:\n{log}") from None
                time.sleep(0.2)
        time.sleep(0.5)

    @property
    def rss_kib(self) -> int:
        return rss_kib(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def database_url(workdir: Path, prefer: str | None) -> str:
    if prefer:
        return prefer
    try:
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=2):
            return PG_URL
    except Exception:  # noqa: BLE001 (no PostgreSQL here: SQLite then)
        return f"sqlite:///{workdir / 'live-bench.sqlite3'}"


def recreate_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- the world (in this process, through Django) -------------------------------------------


def build_world() -> dict:
    """3,000 staff with session rows, one private group of all of them, 1,000 followers."""
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from groups.models import Group, Membership
    from profiles.models import Agency, Follow, Profile

    User = get_user_model()
    agency = Agency.objects.create(name="Bench Agency", short_name="BA", slug="bench")
    unusable = make_password(None)  # sessions only: nobody signs in with a password
    author = User.objects.create(username="author", password=unusable)
    Profile.objects.create(user=author, display_name="Ada Author", agency=agency)
    users = User.objects.bulk_create(
        [User(username=f"u{i}", password=unusable) for i in range(USERS)], batch_size=1000
    )
    Profile.objects.bulk_create(
        [Profile(user=u, display_name=f"User {i}", agency=agency) for i, u in enumerate(users)],
        batch_size=1000,
    )
    group = Group.objects.create(name="Bench group", slug="bench", kind=Group.Kind.PRIVATE)
    Membership.objects.create(group=group, user=author, role=Membership.Role.OWNER)
    Membership.objects.bulk_create(
        [Membership(group=group, user=u) for u in users], batch_size=1000
    )
    Follow.objects.bulk_create(
        [Follow(follower=u, followee=author) for u in users[:FOLLOWERS]], batch_size=1000
    )
    store = SessionStore()
    expires = timezone.now() + timezone.timedelta(days=1)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    sessions, cookies = [], []
    for user in users:
        key = get_random_string(32)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expires)
        )
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={key}")
    Session.objects.bulk_create(sessions, batch_size=1000)
    return {
        "author": author.pk,
        "group": group.pk,
        "users": [u.pk for u in users],
        "cookies": cookies,
    }


def post_once(world: dict, kind: str, n: int, *, publish: bool = True) -> tuple[int, int, int]:
    """Write a post as a request would; returns (post id, commit time, time the publisher
    returned), in ns: the publisher runs in the on-commit hooks, after ours."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from feeds.actions import create_post
    from groups.models import Group

    author = get_user_model().objects.get(pk=world["author"])
    stamp: dict[str, int] = {}
    saved = settings.REALTIME_PUBLISHER
    if not publish:
        settings.REALTIME_PUBLISHER = None
    try:
        with transaction.atomic():
            transaction.on_commit(lambda: stamp.setdefault("t", time.monotonic_ns()))
            body = f"Bench {kind} {n}: the quarterly figures are in, see the #budget thread."
            if kind == "broadcast":
                group = Group.objects.get(pk=world["group"])
                post = create_post(author=author, body=body, audience="group", group=group)
            else:
                post = create_post(author=author, body=body)
    finally:
        settings.REALTIME_PUBLISHER = saved
    return post.pk, stamp["t"], time.monotonic_ns()


# --- the measurements ------------------------------------------------------------------------


class Bench:
    def __init__(self, args, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.results: dict = {"designs": {}, "notes": []}

    async def run(self) -> dict:
        self.redis = Redis(self.workdir)
        try:
            return await self._run()
        finally:
            self.redis.stop()

    async def _run(self) -> dict:
        args = self.args
        self.db_url = database_url(self.workdir, args.database_url)
        recreate_database(self.db_url)
        self.env = {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis.url,
            "REDIS_PREFIX": "bench",
            "DEBUG": "false",
            "SECRET_KEY": "live-bench-only-secret-key-0123456789-abcdefghijklmnopq",
            "LOG_LEVEL": "WARNING",
            # 0 by default, as settings.py ships: each handshake opens a database connection
            # (60: one reused connection, what a connection pool would give).
            "CONN_MAX_AGE": str(args.conn_max_age),
            "OUTBOX_DRAIN_INLINE": "false",
            "STATIC_ROOT": str(self.workdir / "static"),
            "MEDIA_ROOT": str(self.workdir / "media"),
            "PYTHONUNBUFFERED": "1",
        }
        for name in (
            "DATABASE_URL",
            "REDIS_URL",
            "REDIS_PREFIX",
            "DEBUG",
            "SECRET_KEY",
            "LOG_LEVEL",
            "OUTBOX_DRAIN_INLINE",
            "STATIC_ROOT",
            "MEDIA_ROOT",
        ):
            os.environ[name] = self.env[name]  # fmt: skip
        print(f"database {self.db_url}, redis {self.redis.url}", flush=True)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT, env=self.env, check=True,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT, env=self.env, check=True,
        )  # fmt: skip
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intranet.settings")
        import django

        django.setup()
        from asgiref.sync import sync_to_async

        self.sync = sync_to_async
        self.world = await sync_to_async(build_world)()
        self.bare_html = await sync_to_async(self._sample_card)()
        self.clients = Clients(2)
        self.bare_seq = BARE_IDS
        try:
            sizes = args.sizes
            for design in args.designs:
                if design in ("daphne", "uvicorn"):
                    per_user = design == "daphne"
                    self.results["designs"][design] = await self.design(
                        design, sizes, per_user=per_user
                    )
                elif 1000 in sizes:  # the alternatives, at 1,000 sockets
                    self.results["designs"][design] = await self.design(design, [1000])
        finally:
            self.clients.stop()
        return self.results

    def _sample_card(self) -> str:
        """A card as big as the ones Agora sends, for the baseline's messages."""
        from feeds import realtime

        post_id, _t, _sent = post_once(self.world, "everyone", 0, publish=False)
        message = realtime.build_message("post.created", post_id)
        return json.loads(message["text"]["en"])["html"]

    def start(self, design: str) -> Server:
        port = free_port()
        env = dict(self.env)
        if design == "uvicorn":
            command = [
                sys.executable, "-m", "uvicorn", "intranet.asgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
                "--no-access-log", "--log-level", "warning", "--ws", "websockets-sansio",
                "--ws-per-message-deflate", "false", "--backlog", "4096",
            ]  # fmt: skip
        else:
            app = "intranet.asgi:application"
            if design == "naive":
                app = "bench.live_variants:naive_application"
            if design == "pubsub":
                env["DJANGO_SETTINGS_MODULE"] = "bench.live_pubsub_settings"
            command = [
                sys.executable, "-m", "daphne", "-v", "0",
                "--websocket_connect_timeout", str(self.args.daphne_connect_timeout),
                "-e", f"tcp:port={port}:interface=127.0.0.1:backlog=4096", app,
            ]  # fmt: skip
        return Server(design, command, env, self.workdir, port)

    def start_bare(self) -> Server:
        port = free_port()
        command = [
            sys.executable, str(ROOT / "bench" / "live_bare.py"), "--port", str(port),
            "--redis", self.redis.url, "--channel", BARE_CHANNEL,
        ]  # fmt: skip
        return Server("bare", command, self.env, self.workdir, port)

    def use_layer(self, design: str) -> None:
        """Publish the way the server under test listens (core or pub/sub layer)."""
        from channels.layers import channel_layers
        from django.conf import settings

        config = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"])
        if design == "pubsub":
            from channels_redis.pubsub import RedisPubSubChannelLayer

            layer = RedisPubSubChannelLayer(hosts=config["hosts"], prefix=config["prefix"])
        else:
            from channels_redis.core import RedisChannelLayer

            layer = RedisChannelLayer(**config)
        channel_layers.set("default", layer)
        self.layer = layer

    async def design(self, design: str, sizes: list[int], *, per_user=False):
        print(f"== {design}", flush=True)
        self.redis.flush()
        self.use_layer(design)
        results: dict = {"sizes": {}}
        for size in sizes:
            server = self.start(design)
            bare = self.start_bare()
            try:
                results["sizes"][size] = await self.measure(design, server, bare, size, per_user)
            finally:
                await self.clients.ask("disconnect", name="agora")
                await self.clients.ask("disconnect", name="bare")
                server.stop()
                bare.stop()
            print(json.dumps({design: {size: results["sizes"][size]["summary"]}}), flush=True)
        return results

    async def measure(self, design, server, bare, size, per_user) -> dict:
        cookies = self.world["cookies"][:size]
        # Warm both servers up (imports, first queries), so memory counts sockets only.
        origin = f"http://127.0.0.1:{server.port}"
        await self.clients.connect("warm", server.port, "/ws/?feed=home", cookies[:20], origin)
        await self.clients.connect("warm", bare.port, "/", [None] * 20, None)
        await self.clients.ask("disconnect", name="warm")
        agora_rss, bare_rss = server.rss_kib, bare.rss_kib
        storm = await self.clients.connect("agora", server.port, "/ws/?feed=home", cookies, origin)
        bare_storm = await self.clients.connect("bare", bare.port, "/", [None] * size, None)
        if storm["ok"] != size or bare_storm["ok"] != size:
            noise = ('"WS', "connection open", "connection closed", "connection is CLOSED")
            log = "\n".join(
                line
                for line in server.log_path.read_text().splitlines()
                if not any(word in line for word in noise)
            )[:5000]
            raise SystemExit(f"not every socket connected: {storm}, bare {bare_storm}\n{log}")
        await asyncio.sleep(3)
        memory = {
            "agora_kib_per_socket": round((server.rss_kib - agora_rss) / size, 1),
            "bare_kib_per_socket": round((bare.rss_kib - bare_rss) / size, 1),
            "agora_rss_mib": round(server.rss_kib / 1024, 1),
        }
        followers = min(FOLLOWERS, size)
        samples: dict[str, list[float]] = defaultdict(list)
        publishing: dict[str, list[float]] = defaultdict(list)  # commit -> publisher returned
        lost: dict[str, int] = defaultdict(int)
        sent: dict[str, int] = defaultdict(int)
        scenarios = ["broadcast", "bare", "followers"] + (["per_user"] if per_user else [])
        await self.clients.ask("reset")
        for n in range(self.args.warmup + self.args.rounds):
            for scenario in scenarios:
                message_id, committed, sent_at, expected = await self.send(
                    scenario, n, size, followers
                )
                counts = await self.clients.wait_for([message_id], {message_id: expected})
                times = (await self.clients.collect([message_id]))[message_id]
                if n < self.args.warmup:
                    continue
                sent[scenario] += expected
                if counts.get(message_id, 0) != expected:
                    lost[scenario] += abs(expected - counts.get(message_id, 0))
                samples[scenario].extend((t - committed) / 1e6 for t in times)
                publishing[scenario].append((sent_at - committed) / 1e6)
                await asyncio.sleep(self.args.pause)
        stats = {scenario: percentiles(values) for scenario, values in samples.items()}
        for scenario in scenarios:
            stats[scenario]["sent"] = sent[scenario]
            stats[scenario]["lost"] = lost[scenario]
            stats[scenario]["publish"] = percentiles(publishing[scenario])
        if any(lost.values()):
            self.results["notes"].append(f"{design} at {size}: deliveries missing {dict(lost)}")
        ratio = stats["broadcast"]["p95"] / stats["bare"]["p95"] if stats["bare"]["p95"] else 0
        summary = {
            "broadcast_p95": stats["broadcast"]["p95"],
            "bare_p95": stats["bare"]["p95"],
            "ratio_p95": round(ratio, 2),
            "followers_p95": stats["followers"]["p95"],
            "lost": sum(lost.values()),
            "connect_s": storm["seconds"],
            "kib_per_socket": memory["agora_kib_per_socket"],
        }
        return {
            "storm": storm,
            "bare_storm": bare_storm,
            "memory": memory,
            "latency_ms": stats,
            "followers": followers,
            "summary": summary,
        }

    async def send(self, scenario: str, n: int, size: int, followers: int):
        """Send one message of `scenario`; returns (id, commit time, expected deliveries)."""
        if scenario == "bare":
            self.bare_seq += 1
            event = {"kind": "post", "op": "add", "id": self.bare_seq, "cursor": "x"}
            data = json.dumps({**event, "html": self.bare_html})
            committed = time.monotonic_ns()
            await asyncio.to_thread(self.redis.client.publish, BARE_CHANNEL, data)
            return self.bare_seq, committed, time.monotonic_ns(), size
        if scenario == "broadcast":
            post_id, committed, sent = await self.sync(post_once)(self.world, "broadcast", n)
            return post_id, committed, sent, size
        if scenario == "followers":
            post_id, committed, sent = await self.sync(post_once)(self.world, "everyone", n)
            return post_id, committed, sent, followers
        # per_user: the alternative design, one send per follower's own stream
        post_id, committed, sent = await self.sync(self._per_user)(n, followers)
        return post_id, committed, sent, followers

    def _per_user(self, n: int, followers: int) -> tuple[int, int, int]:
        from asgiref.sync import async_to_sync

        from feeds import realtime

        post_id, committed, _sent = post_once(self.world, "everyone", n, publish=False)
        message = realtime.build_message("post.created", post_id)
        targets = self.world["users"][:followers]

        async def fan_out():
            for start in range(0, len(targets), 64):
                await asyncio.gather(
                    *(
                        self.layer.group_send(
                            realtime.group_name(f"user-{uid}"), {**message, "stream": f"user-{uid}"}
                        )
                        for uid in targets[start : start + 64]
                    )
                )

        async_to_sync(fan_out)()
        return post_id, committed, time.monotonic_ns()


# --- the report ------------------------------------------------------------------------------


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def cell(s: dict) -> str:
    return f"{s['p50']:.1f} / {s['p95']:.1f} / {s['p99']:.1f}"


def render(results: dict) -> str:
    m = results["machine"]
    lines = [
        "## Live updates (issue 3)",
        "",
        f"Measured by `bench/live.py` on {results['date']} in {results['seconds']} s "
        f"({m['cpus']} CPUs, Python {m['python']}, CONN_MAX_AGE={results['conn_max_age']}, "
        f"load average {m['load_average']} before "
        f"and {m.get('load_average_after')} after; the machine is shared, so read ratios "
        "before absolute figures). Database: "
        f"{'PostgreSQL' if results['database'].startswith('postgres') else 'SQLite'}; "
        "Redis of its own. Latency is commit -> arrival at the client socket, in ms, "
        "p50 / p95 / p99 over every delivery "
        f"({results['rounds']} rounds per scenario, after {results['warmup']} warm-up "
        "rounds), the baseline interleaved round by round with Agora.",
        "",
        "| server | sockets | broadcast to all (Agora) | bare server | ratio p95 | "
        "post to 1,000 followers | followers / broadcast p95 | per-user fan-out | "
        "connect all (s) | KiB per idle socket (Agora / bare) | lost |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for design, data in results["designs"].items():
        for size, r in data["sizes"].items():
            lat = r["latency_ms"]
            ratio = lat["broadcast"]["p95"] / lat["bare"]["p95"] if lat["bare"]["p95"] else 0
            follow_ratio = (
                lat["followers"]["p95"] / lat["broadcast"]["p95"] if lat["broadcast"]["p95"] else 0
            )
            per_user = cell(lat["per_user"]) if "per_user" in lat else "–"
            lost = sum(lat[s]["lost"] for s in lat)
            sent = sum(lat[s]["sent"] for s in lat)
            lines.append(
                f"| {design} | {int(size):,} | **{cell(lat['broadcast'])}** | {cell(lat['bare'])} "
                f"| **{ratio:.2f}** | {cell(lat['followers'])} | {follow_ratio:.2f} | {per_user} "
                f"| {r['storm']['seconds']} ({r['storm']['ok']:,}/{int(size):,}) "
                f"| {r['memory']['agora_kib_per_socket']} / {r['memory']['bare_kib_per_socket']} "
                f"| {lost} of {sent:,} |"
            )
    lines += [
        "",
        "Of that, publishing (commit -> the publisher's send returned: loading the post, "
        "rendering its card in each language, one channel-layer send), p50 / p95 ms: "
        + "; ".join(
            f"{design} {int(size):,}: {r['latency_ms']['broadcast']['publish']['p50']:.1f} / "
            f"{r['latency_ms']['broadcast']['publish']['p95']:.1f}"
            for design, data in results["designs"].items()
            for size, r in data["sizes"].items()
        )
        + ". First socket served (min latency), broadcast: "
        + "; ".join(
            f"{design} {int(size):,}: {r['latency_ms']['broadcast']['min']:.1f}"
            for design, data in results["designs"].items()
            for size, r in data["sizes"].items()
        )
        + " ms.",
        "",
        "Designs: **daphne** and **uvicorn** serve `intranet.asgi` as shipped (one channel per "
        "process, local fan-out of pre-encoded text); **pubsub** is the same hub on "
        "RedisPubSubChannelLayer; **naive** is the textbook consumer with a channel per "
        'socket (bench/live_variants.py). "Per-user fan-out" sends the same message to '
        "each follower's own stream instead of once to the post's stream.",
    ]
    if results["notes"]:
        lines += ["", "Notes: " + "; ".join(results["notes"])]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    block = f"{START_MARK}\n{section}\n{END_MARK}"
    if START_MARK in text and END_MARK in text:
        before = text.split(START_MARK)[0]
        after = text.split(END_MARK, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between messages")
    parser.add_argument("--database-url", help=f"default: {PG_URL} if it answers, else SQLite")
    parser.add_argument(
        "--designs",
        nargs="+",
        choices=["daphne", "uvicorn", "pubsub", "naive"],
        default=["daphne", "uvicorn", "pubsub", "naive"],
        help="pubsub and naive (designs Agora does not ship) run at 1,000 sockets only",
    )
    parser.add_argument(
        "--daphne-connect-timeout",
        type=int,
        default=30,
        help="daphne's --websocket_connect_timeout (its default, 5 s, resets handshakes "
        "queued behind a storm on a busy machine)",
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=0,
        help="CONN_MAX_AGE for the servers (default 0, as shipped: one PostgreSQL connection per "
        "handshake); socket handshakes run their queries in one thread, so 60 shows what a "
        "connection pool would give",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/BENCHMARKS.md")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sys.path.insert(0, str(ROOT))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="live-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        results = asyncio.run(bench.run())
        results.update(
            machine=machine(),
            database=bench.db_url,
            rounds=args.rounds,
            conn_max_age=args.conn_max_age,
            warmup=args.warmup,
            seconds=round(time.monotonic() - started),
            date=datetime.now(UTC).strftime("%Y-%m-%d"),
        )
        results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        if bench.db_url.startswith("postgres"):
            from django.db import connections

            connections.close_all()
            recreate_database(bench.db_url)  # leave an empty database behind, not 3,000 rows
    section = render(results)
    print(section)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.no_docs:
        write_docs(section)
    if results["notes"]:
        sys.exit("deliveries were missing: " + "; ".join(results["notes"]))


if __name__ == "__main__":
    main()
