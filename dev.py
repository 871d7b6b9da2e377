#!/usr/bin/env python3
"""The two commands of the README, needing nothing but Python 3.11+.

    python3 dev.py run    # venv, install, migrate, demo data, serve on http://127.0.0.1:8000
    python3 dev.py test   # venv, install with test extras, run the test suite

Environment variables choose the services (DATABASE_URL, REDIS_URL, ...); with none set,
Agora runs on the embedded default: SQLite under var/, an in-memory channel layer and the
database search backend. Extra arguments after `test` go to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def sh(*args: str | os.PathLike, env: dict | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project; skip the install when nothing changed."""
    if sys.version_info < (3, 11):
        sys.exit("Agora needs Python 3.11 or newer.")
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    sh(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    sh(PYTHON, "-m", "pip", "install", "--quiet", "-e", target)
    stamp.write_text(digest)


def manage(*args: str) -> None:
    sh(PYTHON, "manage.py", *args)


def run() -> None:
    ensure_venv("")
    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput", "--verbosity", "0")
    manage("seed_demo")
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    print(f"Agora is starting on http://{host}:{port}/ (Ctrl+C stops it)", flush=True)
    try:
        sh(BIN / "daphne", "-b", host, "-p", port, "intranet.asgi:application")
    except KeyboardInterrupt:
        pass


def test(pytest_args: list[str]) -> None:
    ensure_venv("test")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # Whether models and migrations agree does not depend on the database: checked on the
    # embedded default, so that it never tries to reach a database the tests have not made.
    offline = {k: v for k, v in env.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    check = ("makemigrations", "--check", "--dry-run", "--verbosity", "1")
    sh(PYTHON, "manage.py", *check, env=offline)
    if not any(arg == "-n" or arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        pytest_args = ["-n", "auto", *pytest_args]  # one worker per core (pytest-xdist)
    sh(PYTHON, "-m", "pytest", *pytest_args, env=env)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        sys.exit(__doc__)
    if sys.argv[1] == "run":
        run()
    else:
        test(sys.argv[2:])


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
