"""Fixtures of the fault and soak tests: services of our own that the tests may break.

`pg_cluster` is a PostgreSQL cluster initialised into a temporary folder and `cluster_world` a
migrated template database on it (one per pytest-xdist worker: own ports, own folders);
`cluster_database` copies the template for one test; `own_redis` is a redis-server on a spare
port. Without the binaries these skip locally with the reason, and fail under CI=true.

The soak (`soak` marker) runs only when asked: AGORA_SOAK=1 or AGORA_SOAK_SECONDS set, and
always in CI's PostgreSQL run (CI=true with DATABASE_URL on PostgreSQL).
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import IN_CI, skip_or_fail

from .services import ClusterWorld, PostgresCluster, ServiceMissing


def soak_requested() -> tuple[bool, str]:
    """Whether the soak runs, and why not when it does not."""
    if os.environ.get("AGORA_SOAK", "").lower() in {"1", "true", "yes"}:
        return True, ""
    if os.environ.get("AGORA_SOAK_SECONDS"):
        return True, ""
    database = os.environ.get("DATABASE_URL", "")
    if IN_CI and database.startswith(("postgres://", "postgresql://")):
        return True, ""
    return False, (
        "the soak runs when asked (AGORA_SOAK=1 or AGORA_SOAK_SECONDS=<seconds>) and in CI's "
        "PostgreSQL run"
    )


def pytest_collection_modifyitems(config, items):
    run, reason = soak_requested()
    if run:
        return
    for item in items:
        if item.get_closest_marker("soak"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster on a spare port (stopped and removed at the end)."""
    try:
        cluster = PostgresCluster()
    except ServiceMissing as exc:
        skip_or_fail(str(exc))
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def cluster_world(pg_cluster, tmp_path_factory):
    """The migrated template database (tests/realtime/make_world.py's people and groups)."""
    return ClusterWorld(pg_cluster, tmp_path_factory.mktemp("cluster-world"))


@pytest.fixture
def cluster_database(cluster_world, pg_cluster):
    """A fresh copy of the template for one test; the cluster is running again afterwards."""
    database = cluster_world.database("test")
    yield database
    if not pg_cluster.running:
        pg_cluster.start()
    database.drop()


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of our own on a spare port, which the test may stop and start."""
    from tests.realtime.server import Redis

    try:
        redis = Redis(tmp_path)
    except FileNotFoundError:
        skip_or_fail("redis-server is not installed (apt-get install redis-server)")
    yield redis
    redis.stop()


@pytest.fixture
def websockets_client():
    try:
        import websockets
    except ImportError:
        skip_or_fail("the websockets library is not installed (pip install -e .[test])")
    return websockets
