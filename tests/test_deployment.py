"""The production topology in docker-compose.yml matches what the settings read."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_runs_every_service_of_the_topology():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "elasticsearch", "web", "worker"} <= set(services)
    assert services["web"]["command"][0] in {"daphne", "uvicorn"}  # uvicorn: docs/BENCHMARKS.md
    assert "intranet.asgi:application" in services["web"]["command"]
    assert services["worker"]["command"][-1] == "run_outbox"


def test_compose_sets_the_variables_the_settings_read():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    settings_text = (ROOT / "intranet" / "settings.py").read_text()
    for service in ("web", "worker"):
        env = compose["services"][service]["environment"]
        for name in (
            "DATABASE_URL",
            "REDIS_URL",
            "SEARCH_BACKEND",
            "ELASTICSEARCH_URL",
            "SECRET_KEY",
            "DEBUG",
            "ALLOWED_HOSTS",
        ):
            assert name in env, (service, name)
            assert f'"{name}"' in settings_text, name
        assert env["DEBUG"] == "false"


def test_the_server_application_leaves_its_start_up_heap_out_of_full_collections():
    """Importing intranet.asgi (as daphne and uvicorn do) freezes what is loaded by then, so
    the collector's full collections no longer walk it (docs/BENCHMARKS.md, 2026-12-07: a
    170 ms pause in a request about once per 2,400 searches, 4-8 ms pauses once frozen)."""
    import os
    import subprocess
    import sys

    probe = "import gc, intranet.asgi; print(gc.get_freeze_count())"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "intranet.settings"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 10_000
