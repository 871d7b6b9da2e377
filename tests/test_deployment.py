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
