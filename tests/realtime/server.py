"""A real Agora server for the live-updates integration tests (and the benchmark).

`ServerDatabase` makes a fresh database for server processes (SQLite in a temporary folder,
or `<name>_server` beside the PostgreSQL database DATABASE_URL names), migrates it and builds
a world in it by running a script in its own process. `Daphne` runs `intranet.asgi` in a
daphne process against it, `OutboxWorker` the outbox worker beside it; `Redis` runs a
throwaway redis-server we can stop and start.
`Browserless` helpers sign in over HTTP (real sessions) and post through the JSON API.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "live-tests-only-secret-key-not-for-production-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_server_url(url: str) -> str:
    """`<name>_server` beside DATABASE_URL's database (one per pytest-xdist worker)."""
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/") or "agora"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    suffix = f"_server_{worker}" if worker else "_server"
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}{suffix}"))


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a process of ours, killed if it does not end within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ServerDatabase:
    """A migrated database the server processes share (not pytest's test database)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        url = os.environ.get("DATABASE_URL", "")
        if url.startswith(("postgres://", "postgresql://")):
            self.url = _postgres_server_url(url)
            self._recreate_postgres()
        else:
            self.url = f"sqlite:///{workdir / 'server.sqlite3'}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "MEDIA_ROOT": str(workdir / "media"),
            "STATIC_ROOT": str(workdir / "static"),
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "OUTBOX_DRAIN_INLINE": "true",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("REDIS_URL", None)
        self.manage("migrate", "--noinput", "-v0")
        self.manage("collectstatic", "--noinput", "-v0")

    def _recreate_postgres(self) -> None:
        import psycopg

        parts = urllib.parse.urlsplit(self.url)
        name = parts.path.lstrip("/")
        admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def script(self, path: Path, *args: str) -> str:
        """Run a Django script against this database; returns what it printed."""
        done = subprocess.run(
            [sys.executable, str(path), *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def drop(self) -> None:
        if self.url.startswith("postgres"):
            import psycopg

            parts = urllib.parse.urlsplit(self.url)
            admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


class Daphne:
    """`daphne intranet.asgi:application` in its own process."""

    def __init__(self, database: ServerDatabase, *, redis_url: str | None, name: str = "daphne"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}/ws/"
        env = dict(database.env)
        if redis_url:
            env["REDIS_URL"] = redis_url
            env["OUTBOX_DRAIN_INLINE"] = "true"
            # Our own keys and groups, whatever else uses this Redis.
            env["REDIS_PREFIX"] = f"agora-live-test-{self.port}"
        self.env = env
        self.log_path = database.workdir / f"{name}-{self.port}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
             "intranet.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/accounts/login/", timeout=1)
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(self.log()) from None
                time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text()

    def script(self, path: Path, *args: str, **env: str) -> str:
        """Run a Django script with this server's settings (its database, its Redis), but for
        the variables given in `env`; returns what it printed."""
        done = subprocess.run(
            [sys.executable, str(path), *args],
            cwd=ROOT,
            env={**self.env, **env},
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the server wrote (for a failure message)."""
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


class OutboxWorker:
    """`manage.py run_outbox` in its own process, with a server's settings (the `worker` service
    of docker-compose.yml)."""

    def __init__(self, server: Daphne):
        self.log_path = server.log_path.with_name(f"worker-{server.port}.log")
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_outbox", "--interval", "0.2"],
            cwd=ROOT,
            env=server.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


class Redis:
    """A redis-server of our own on a spare port, so we may stop and start it."""

    def __init__(self, workdir: Path):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise FileNotFoundError("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on {self.port}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


class Browserless:
    """One person's HTTP session with the server: a real sign-in, cookies kept."""

    def __init__(self, base: str, username: str, password: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.opener.open(f"{base}/accounts/login/", timeout=10).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(
            f"{base}/accounts/login/", data=data, headers={"Referer": f"{base}/accounts/login/"}
        )
        self.opener.open(request, timeout=10)
        if "sessionid" not in self.cookies:
            raise AssertionError(f"{username} could not sign in")

    @property
    def cookies(self) -> dict[str, str]:
        return {cookie.name: cookie.value for cookie in self.jar}

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(f"{self.base}{path}", timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": self.cookies.get("csrftoken", ""),
                "Referer": f"{self.base}/",
            },
        )
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def post(self, body: str, **fields) -> int:
        """Write a post through the JSON API; returns its id (the answer must be 201)."""
        status, data = self.api("POST", "/api/posts/", {"body": body, **fields})
        if status != 201:
            raise AssertionError(f"POST /api/posts/ answered {status}: {data}")
        return data["id"]
