"""intranet/pooled_postgresql: requests share a few pooled connections, and an outage fails
fast and ends as soon as PostgreSQL is back (no waiting out the pool's timeout or back-off).

On a PostgreSQL cluster of our own (tests/integration/conftest.py), which the tests stop.
"""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from tests.realtime.server import Browserless, Daphne

from .services import LIVE_PASSWORD

pytestmark = pytest.mark.integration

POOL_TIMEOUT = 20.0


def sessions(database) -> int:
    (row,) = database.cluster.query(
        "postgres", "SELECT sessions FROM pg_stat_database WHERE datname = %s", (database.name,)
    )
    return row[0]


def test_requests_share_pooled_connections(cluster_database):
    """Under daphne each request runs in a thread of its own: without the pool, each one
    opened a connection (30 requests, 30 sessions)."""
    server = Daphne(cluster_database, redis_url=None, name="pool")
    try:
        bob = Browserless(server.base, "bob", LIVE_PASSWORD)
        before = sessions(cluster_database)
        answers = [bob.get("/api/feed/home/")[0] for _ in range(30)]
        after = sessions(cluster_database)
    finally:
        server.stop()
    assert answers == [200] * 30
    assert after - before <= 4, f"{after - before} new sessions for 30 requests"


def pooled_connection(cluster_database, **options):
    # An alias of its own: pools are per alias, and "default" is the suite's own database.
    handler = ConnectionHandler(
        {
            "default": {"ENGINE": "django.db.backends.dummy"},  # a handler must have one
            "cluster": {
                "ENGINE": "intranet.pooled_postgresql",
                "NAME": cluster_database.name,
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": cluster_database.cluster.port,
                "CONN_HEALTH_CHECKS": True,
                "OPTIONS": {
                    "pool": {"min_size": 2, "max_size": 4, "timeout": POOL_TIMEOUT},
                    **options,
                },
            },
        }
    )
    return handler["cluster"]


def one_value(connection) -> int:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0]
    finally:
        connection.close()  # back to the pool, as at the end of a request


def test_a_stopped_database_fails_at_once_and_the_first_request_after_it_works(
    cluster_database, pg_cluster, django_db_blocker
):
    connection = pooled_connection(cluster_database)
    with django_db_blocker.unblock():
        check_outage_and_recovery(connection, pg_cluster)


def check_outage_and_recovery(connection, pg_cluster) -> None:
    try:
        assert one_value(connection) == 1
        pg_cluster.stop()
        failures = []
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(OperationalError):
                one_value(connection)
            failures.append(time.monotonic() - started)
        # Not the pool's timeout: failing requests answer while the database is away.
        assert max(failures) < POOL_TIMEOUT / 2, failures
        pg_cluster.start()
        # The pool's own reconnection would wait out its back-off (1 s, 2 s, 4 s, ...): the
        # first request after the restart gets a connection.
        assert one_value(connection) == 1
        assert one_value(connection) == 1
    finally:
        if not pg_cluster.running:
            pg_cluster.start()
        connection.close_pool()


def test_a_connection_whose_session_the_server_ended_is_not_lent(
    cluster_database, django_db_blocker
):
    """The pool's connections sit idle between requests; when the server ends their sessions
    (an administrator's pg_terminate_backend, an idle timeout, a restart) the next request
    still gets a working connection: the pool checks a connection the server has written to
    before lending it (CONN_HEALTH_CHECKS, `check_if_disturbed`)."""
    name = "agora-pool-check"
    connection = pooled_connection(cluster_database, application_name=name)
    with django_db_blocker.unblock():
        try:
            assert one_value(connection) == 1
            # With a timeout, pg_terminate_backend waits until each session has ended, its
            # message written and its socket closed; without one it only signals, and the
            # next request could race the session's end (CI saw that once).
            ended = cluster_database.query(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (name,),
            )
            assert ended and all(row[0] for row in ended), ended
            assert [one_value(connection) for _ in range(3)] == [1, 1, 1]
        finally:
            connection.close_pool()
