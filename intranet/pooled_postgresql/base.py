"""PostgreSQL through psycopg's connection pool, answering at once while the database is away.

Why a pool: Django's ASGI handler runs each request's synchronous code in a thread of its own,
and Django's connections belong to a thread, so CONN_MAX_AGE keeps nothing and every request
used to open (and authenticate, and configure) a new connection. With Django's pool
(`OPTIONS["pool"]`) a request borrows one of a few open connections and gives it back.

Why this module: while PostgreSQL restarts, a plain pool makes every request wait for its
timeout (seconds) before failing, and after the restart it reconnects on its own back-off
schedule (1 s, 2 s, 4 s, ...), so requests keep failing for a while after the database is back.
Here:
- every connection the pool opens goes through `MonitoredConnection.connect`, which notes
  whether it failed: a failure means "the database may be away";
- a request that waits for a connection stops waiting as soon as that is noted, and fails with
  OperationalError (the middleware answers 503 with Retry-After);
- while it is noted, each request first tries one direct connection (refused at once while the
  server is down): if that fails the request fails at once; if it succeeds the database is
  back, and the old pool (possibly in its back-off) is replaced by a fresh one.
A pool that is merely busy is not an outage: requests wait for a free connection up to the
pool's timeout, as usual.
"""

from __future__ import annotations

import select
import threading
from time import monotonic

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool, PoolTimeout

# How often a request waiting for a pooled connection looks whether an outage was noted.
_POLL_SECONDS = 0.1
_PROBE_CONNECT_TIMEOUT = 2


class OutageNotes:
    """Whether the last connection attempt made by the pool of one database alias failed."""

    def __init__(self) -> None:
        self._suspected = False
        self.lock = threading.Lock()

    def connect_failed(self) -> None:
        self._suspected = True

    def connect_succeeded(self) -> None:
        self._suspected = False

    def suspected(self) -> bool:
        return self._suspected


# One per database alias (the pools are per alias too), for the life of the process.
_NOTES: dict[str, OutageNotes] = {}


def outage_notes(alias: str) -> OutageNotes:
    return _NOTES.setdefault(alias, OutageNotes())


class MonitoredConnection(psycopg.Connection):
    """The pool's connection class: notes whether connecting worked (`for_notes` makes one
    per alias)."""

    outage: OutageNotes

    @classmethod
    def for_notes(cls, notes: OutageNotes) -> type[MonitoredConnection]:
        return type(cls.__name__, (cls,), {"outage": notes})

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs):
        try:
            connection = super().connect(conninfo, **kwargs)
        except psycopg.OperationalError:
            cls.outage.connect_failed()
            raise
        cls.outage.connect_succeeded()
        return connection


def check_if_disturbed(conn: psycopg.Connection) -> None:
    """The pool's check of a connection before lending it (CONN_HEALTH_CHECKS): psycopg's
    `check_connection`, a round trip to the server, only if the server has sent something
    since the connection was given back. An idle connection hears nothing; a server that
    shuts down or ends the session (a restart, `pg_terminate_backend`, an idle timeout) sends
    its error and closes the socket, which then reads as ready. The round trip on every
    request was a fifth of a millisecond of each API call (docs/BENCHMARKS.md, "Home feed").
    A server gone without a word (a host that died) is found by the request's own query,
    which fails as the check would have, and the pool discards that connection."""
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        ConnectionPool.check_connection(conn)


class DatabaseUnreachable(psycopg.OperationalError):
    """The pool's database refused or could not take a new connection."""


class FailFastPool(ConnectionPool):
    def __init__(self, *args, outage: OutageNotes, **kwargs):
        super().__init__(*args, connection_class=MonitoredConnection.for_notes(outage), **kwargs)
        self.outage = outage

    def getconn(self, timeout: float | None = None):
        deadline = monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if self.outage.suspected():
                raise DatabaseUnreachable("the database cannot be reached (connecting failed)")
            wait = min(_POLL_SECONDS, deadline - monotonic())
            try:
                return super().getconn(timeout=max(wait, 0.001))
            except PoolTimeout:
                if monotonic() >= deadline:
                    raise


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == base.NO_DB_ALIAS or not options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            kwargs = self.get_connection_params()
            kwargs["autocommit"] = True  # as Django's own pool: Django sets it later
            pool = FailFastPool(
                kwargs=kwargs,
                outage=outage_notes(self.alias),
                open=False,
                configure=self._configure_connection,
                check=check_if_disturbed if self.settings_dict["CONN_HEALTH_CHECKS"] else None,
                **({} if options is True else options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]

    def get_new_connection(self, conn_params):
        if outage_notes(self.alias).suspected() and self.pool is not None:
            self._reopen_pool_if_database_is_back()
        return super().get_new_connection(conn_params)

    def _reopen_pool_if_database_is_back(self) -> None:
        """One direct connection: refused (OperationalError, raised) while the database is
        away; if it works, a fresh pool replaces the one that may be waiting out its back-off."""
        outage = outage_notes(self.alias)
        with outage.lock:
            if not outage.suspected():
                return  # another request found it back a moment ago
            kwargs = {**self.pool.kwargs, "connect_timeout": _PROBE_CONNECT_TIMEOUT}
            psycopg.connect(**kwargs).close()
            outage.connect_succeeded()
            old = self._connection_pools.pop(self.alias, None)
        if old is not None:
            # Closing joins the old pool's workers; do not make this request wait for that.
            threading.Thread(target=old.close, name="agora-pool-close", daemon=True).start()
