"""SQLite (the embedded default) with its connections kept open between requests.

Why: Django's ASGI handler runs each request's synchronous code in a thread of its own, and
Django's connections belong to a thread, so every request used to open a new SQLite
connection and close it at the end. Opening one is not free: SQLite reads and parses the
whole schema (Agora's, Wagtail's, allauth's: a few hundred tables and indexes) at the first
statement, and Django registers its SQL functions and runs the PRAGMAs on it. On the
benchmark machine that was about 6 ms per request, more than a hello-world request takes.

Here a request that closes its connection hands it back to a small per-process list of idle
connections instead, and the next request takes one from it. A connection goes back only
when nothing of the request is left on it: no transaction open (it is rolled back if one
is), no atomic block. In-memory databases keep Django's behaviour (never closed at all).
`DATABASE_POOL=false` turns this off (one connection per request, as Django does).
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base

# Idle connections kept per database file, per process: the requests that run at once in one
# server process (ASGI threads) rarely exceed it; any surplus is closed.
DEFAULT_MAX_IDLE = 8


class IdleConnections:
    """The idle connections of one database file (last in, first out: the warmest first)."""

    def __init__(self, max_idle: int) -> None:
        self.max_idle = max_idle
        self._idle: list = []
        self._lock = threading.Lock()

    def take(self):
        with self._lock:
            return self._idle.pop() if self._idle else None

    def give_back(self, connection) -> bool:
        """Keep `connection` for a later request; False if the list is full (close it)."""
        with self._lock:
            if len(self._idle) >= self.max_idle:
                return False
            self._idle.append(connection)
            return True

    def close_all(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def __len__(self) -> int:
        return len(self._idle)


_POOLS: dict[tuple[str, str], IdleConnections] = {}
_POOLS_LOCK = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        kwargs = super().get_connection_params()
        pool = kwargs.pop("pool", None)
        self.max_idle = 0 if pool is False else int(pool or DEFAULT_MAX_IDLE)
        return kwargs

    @property
    def idle_connections(self) -> IdleConnections | None:
        """This database's idle connections, or None where connections are not kept."""
        if self.is_in_memory_db():
            return None
        if not hasattr(self, "max_idle"):
            self.get_connection_params()
        if not self.max_idle:
            return None
        key = (self.alias, str(self.settings_dict["NAME"]))
        with _POOLS_LOCK:
            return _POOLS.setdefault(key, IdleConnections(self.max_idle))

    def get_new_connection(self, conn_params):
        idle = self.idle_connections
        connection = idle.take() if idle is not None else None
        if connection is not None:
            return connection  # Django's connect() then sets autocommit and its own state
        return super().get_new_connection(conn_params)

    def _close(self):
        connection, idle = self.connection, self.idle_connections
        if connection is None or idle is None or self.in_atomic_block or self.errors_occurred:
            return super()._close()  # closed for real: nothing doubtful goes back
        with self.wrap_database_errors:
            if connection.in_transaction:
                connection.rollback()
            if not idle.give_back(connection):
                connection.close()
