"""Throwaway services for the fault and soak tests: a PostgreSQL cluster and a redis-server of
our own, on spare ports, which the tests stop, start and restart. The shared instances the
environment names (DATABASE_URL, REDIS_URL) are never touched.

`PostgresCluster` runs initdb into a temporary folder and `pg_ctl` against it; PostgreSQL
refuses to run as root, so when the tests are root the cluster runs as the `postgres` account
(`runuser -u postgres --`). `ClusterWorld` migrates a template database on such a cluster once
(with the world of tests/realtime/make_world.py and collected static files), and
`ClusterWorld.database()` copies it into a fresh database per test, ready for
`tests.realtime.server.Daphne`.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.realtime.server import ROOT, SECRET_KEY, free_port

LIVE_PASSWORD = "live correct horse battery"
MAKE_WORLD = ROOT / "tests" / "realtime" / "make_world.py"


class ServiceMissing(Exception):
    """A binary or account the throwaway services need is not on this machine."""


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """The folder of initdb, pg_ctl and postgres (the server binaries, not just the client)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            candidates.append(Path(out.stdout.strip()))

    def version(path: str) -> tuple[int, ...]:
        number = Path(path).parent.name
        return tuple(int(p) for p in number.split(".") if p.isdigit())

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)][
        ::-1
    ]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise ServiceMissing(
        "the PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed "
        "(apt-get install postgresql)"
    )


def _as_postgres() -> list[str]:
    """The prefix that runs a command as the `postgres` account when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceMissing("running as root and there is no `postgres` account") from None
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"]
    raise ServiceMissing("running as root and `runuser` is not installed")


class PostgresCluster:
    """A PostgreSQL cluster of our own: initdb into a temporary folder, a spare port."""

    def __init__(self, *, fsync: bool = False):
        self.bindir = postgres_bindir()
        self.prefix = _as_postgres()
        self.port = free_port()
        # Not under pytest's tmp_path: that folder is private to root, and the server may
        # run as `postgres`.
        self.root = Path(tempfile.mkdtemp(prefix="agora-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.sockets.mkdir()
        self.log_path = self.root / "postgres.log"
        if self.prefix:
            import pwd

            account = pwd.getpwnam("postgres")
            for path in (self.root, self.sockets):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.sockets}'\n"
                # A clean stop (what the tests do) checkpoints everything whatever fsync says;
                # fsync only protects against the machine losing power, and costs the
                # migrations seconds.
                f"fsync = {'on' if fsync else 'off'}\nmax_connections = 200\n"
            )
        self.start()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [*self.prefix, str(self.bindir / tool), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", "60",
                  "start")  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: sessions are cut, open transactions roll back, commits stay."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def connect(self, name: str = "postgres"):
        import psycopg

        return psycopg.connect(self.url(name), autocommit=True, connect_timeout=5)

    def query(self, name: str, sql: str, params: tuple = ()) -> list[tuple]:
        with self.connect(name) as conn:
            return conn.execute(sql, params).fetchall()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def destroy(self) -> None:
        if self.data.exists() and self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop",
                      check=False)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


# --- a migrated world on the cluster ----------------------------------------------------------


class ClusterDatabase:
    """One fresh database for server processes (what tests.realtime.server.Daphne needs)."""

    def __init__(self, cluster: PostgresCluster, name: str, workdir: Path, env: dict, world):
        self.cluster = cluster
        self.name = name
        self.workdir = workdir
        self.url = cluster.url(name)
        self.env = {**env, "DATABASE_URL": self.url, "MEDIA_ROOT": str(workdir / "media")}
        self.world = world

    def manage(self, *args: str, env: dict | None = None, timeout: float = 120) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.cluster.query(self.name, sql, params)

    def drop(self) -> None:
        if self.cluster.running:
            with self.cluster.connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class ClusterWorld:
    """A migrated template database (with the live-tests world) on a throwaway cluster."""

    TEMPLATE = "agora_template"

    def __init__(self, cluster: PostgresCluster, workdir: Path):
        self.cluster = cluster
        self.workdir = workdir
        self.env = {
            **os.environ,
            "DATABASE_URL": cluster.url(self.TEMPLATE),
            "STATIC_ROOT": str(workdir / "static"),
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "OUTBOX_DRAIN_INLINE": "true",
            "PYTHONUNBUFFERED": "1",
            "LIVE_PASSWORD": LIVE_PASSWORD,
            "SEARCH_BACKEND": "database",
        }
        for name in ("REDIS_URL", "ELASTICSEARCH_URL", "CONN_MAX_AGE"):
            self.env.pop(name, None)
        with cluster.connect() as conn:
            conn.execute(f'CREATE DATABASE "{self.TEMPLATE}"')
        for args in (("migrate", "--noinput", "-v0"), ("collectstatic", "--noinput", "-v0")):
            subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True)
        out = subprocess.run(
            [sys.executable, str(MAKE_WORLD)],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        self.world = json.loads(out.strip().splitlines()[-1])

    def database(self, label: str) -> ClusterDatabase:
        """A copy of the template (CREATE DATABASE ... TEMPLATE: a file copy, no migrations)."""
        name = f"agora_{label}_{uuid.uuid4().hex[:8]}"
        with self.cluster.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.TEMPLATE}"')
        workdir = self.workdir / name
        workdir.mkdir()
        return ClusterDatabase(self.cluster, name, workdir, self.env, self.world)


def wait_until(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux /proc), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
