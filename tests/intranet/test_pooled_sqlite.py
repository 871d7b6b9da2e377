"""intranet/pooled_sqlite: a request's SQLite connection is kept for the next request, with
nothing of the first request left on it; in-memory databases and doubtful connections are
never kept. Real SQLite files, Django's own connection wrapper."""

import threading

import pytest
from django.db.utils import ConnectionHandler

from intranet.pooled_sqlite.base import IdleConnections


@pytest.fixture
def database(tmp_path, request, django_db_blocker):
    """A connection wrapper of its own (own alias and file: pools are per file)."""
    handlers = []
    django_db_blocker.unblock()
    request.addfinalizer(django_db_blocker.restore)

    def make(name="pool.sqlite3", pool=2, alias=None):
        alias = alias or f"pooltest_{request.node.name}"[:60]
        handler = ConnectionHandler(
            {
                "default": {"ENGINE": "django.db.backends.dummy"},  # a handler must have one
                alias: {
                    "ENGINE": "intranet.pooled_sqlite",
                    "NAME": str(tmp_path / name) if name != ":memory:" else name,
                    "OPTIONS": {"pool": pool, "transaction_mode": "IMMEDIATE"},
                },
            }
        )
        handlers.append((handler, alias))
        return handler[alias]

    yield make
    for handler, alias in handlers:
        connection = handler[alias]
        if connection.idle_connections is not None:
            connection.idle_connections.close_all()
        connection.close()


def raw(connection):
    connection.ensure_connection()
    return connection.connection


def scalar(connection, sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def test_a_closed_connection_serves_the_next_request(database):
    connection = database()
    first = raw(connection)
    connection.close()  # the end of a request
    assert connection.connection is None
    assert len(connection.idle_connections) == 1
    assert raw(connection) is first  # the next request: the same SQLite connection
    assert scalar(connection, "SELECT 1") == 1
    assert connection.get_autocommit() is True  # Django's state set up again
    connection.close()


def test_an_open_transaction_is_rolled_back_before_the_connection_is_kept(database):
    connection = database()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE note (body TEXT)")
        cursor.execute("BEGIN")
        cursor.execute("INSERT INTO note VALUES ('unfinished')")
    assert connection.connection.in_transaction
    connection.close()
    reused = raw(connection)
    assert not reused.in_transaction
    assert scalar(connection, "SELECT count(*) FROM note") == 0
    connection.close()


def test_a_connection_closed_inside_an_atomic_block_is_not_kept(database, monkeypatch):
    from django.db import transaction

    connection = database()
    first = raw(connection)
    # transaction.atomic() finds its connection in the project's handler: point it at ours.
    monkeypatch.setattr(transaction, "get_connection", lambda using=None: connection)
    with pytest.raises(RuntimeError), transaction.atomic():
        connection.close()
        raise RuntimeError
    assert len(connection.idle_connections) == 0
    assert raw(connection) is not first
    connection.close()


def test_after_an_error_the_connection_is_closed_for_real(database):
    connection = database()
    first = raw(connection)
    connection.errors_occurred = True  # what Django notes after a database error
    connection.close()
    assert len(connection.idle_connections) == 0
    assert raw(connection) is not first
    connection.close()


def test_no_more_than_the_pool_size_are_kept(database):
    wrappers = [database(alias="pool_size") for _ in range(3)]  # three requests at once
    for wrapper in wrappers:
        raw(wrapper)
    for wrapper in wrappers:
        wrapper.close()
    assert len(wrappers[0].idle_connections) == 2
    assert database(alias="pool_other").idle_connections is not wrappers[0].idle_connections


def test_requests_in_other_threads_share_the_kept_connections(database):
    """As under daphne: each request runs in a thread of its own, one after the other."""
    name, seen, errors = "threads.sqlite3", [], []
    connection = database(name=name, alias="pool_threads")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE hit (n INTEGER)")
    connection.close()

    def one_request(n):
        try:
            wrapper = database(name=name, alias="pool_threads")
            seen.append(id(raw(wrapper)))
            with wrapper.cursor() as cursor:
                cursor.execute("INSERT INTO hit VALUES (%s)", [n])
            wrapper.close()
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    for n in range(10):
        thread = threading.Thread(target=one_request, args=(n,))
        thread.start()
        thread.join()
    assert errors == []
    assert len(set(seen)) == 1, "each request opened a connection of its own"
    assert scalar(connection, "SELECT count(*) FROM hit") == 10
    connection.close()


def test_in_memory_databases_are_never_pooled(database):
    connection = database(name=":memory:")
    assert connection.idle_connections is None
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE kept (n INTEGER)")
    connection.close()  # Django ignores it: closing would destroy the database
    assert scalar(connection, "SELECT count(*) FROM kept") == 0


def test_pool_false_keeps_nothing(database):
    connection = database(pool=False)
    first = raw(connection)
    connection.close()
    assert connection.idle_connections is None
    assert raw(connection) is not first
    connection.close()


def test_a_full_list_refuses_and_the_warmest_comes_first():
    idle = IdleConnections(max_idle=2)
    assert idle.give_back("a") and idle.give_back("b")
    assert not idle.give_back("c")
    assert [idle.take(), idle.take(), idle.take()] == ["b", "a", None]


@pytest.mark.parametrize(
    ("pool", "engine"),
    [("", "intranet.pooled_sqlite"), ("false", "django.db.backends.sqlite3")],
)
def test_the_embedded_default_pools_unless_told_not_to(tmp_path, pool, engine):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'agora.sqlite3'}", SECRET_KEY="x" * 50)
    if pool:
        env["DATABASE_POOL"] = pool
    code = "from intranet import settings as s; print(s.DATABASES['default']['ENGINE'])"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == engine


@pytest.mark.django_db
def test_the_suite_itself_runs_on_sqlite_in_memory():
    """pytest-django names each worker's test database after NAME unless the ENGINE reads
    as SQLite's own; the settings keep it in memory (and so never pooled)."""
    from django.db import connection

    assert connection.vendor != "sqlite" or connection.is_in_memory_db()
    assert connection.vendor != "sqlite" or connection.idle_connections is None
