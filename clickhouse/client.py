"""ClickHouse connections: embedded chDB or a server, behind one small ``Database`` wrapper.

chDB runs the real ClickHouse engine in-process and allows one data folder per process, so the
sink and the HTTP API of the warehouse share one engine. ``Database`` serialises every call with
one lock per client (clickhouse-connect clients are not thread-safe, and the current database
is client state), and runs statements in its own database so that ``SELECT count() FROM
pageviews`` needs no qualification.
"""

from __future__ import annotations

import asyncio
import re
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.settings import Settings

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: One lock per client object, shared by every ``Database`` that wraps it.
_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def check_identifier(name: str, what: str = "database") -> str:
    """``name`` when it is a plain ClickHouse identifier, else ValueError naming ``what``."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{what} name {name!r} must match [A-Za-z_][A-Za-z0-9_]*")
    return name


def _lock_for(client: Any) -> threading.RLock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(client)
        if lock is None:
            lock = threading.RLock()
            _LOCKS[client] = lock
        return lock


def connect(url: str | None, chdb_path: Path, database: str) -> Any:
    """A clickhouse-connect client: chDB in ``chdb_path`` when ``url`` is None, else the server
    at ``url`` (``http://user:pass@host:8123``). Creates ``database`` when missing and makes it
    the client's default database."""
    import clickhouse_connect

    check_identifier(database)
    if url is None:
        chdb_path.mkdir(parents=True, exist_ok=True)
        client = clickhouse_connect.get_client(interface="chdb", path=str(chdb_path))
    else:
        client = clickhouse_connect.get_client(dsn=url)
    with _lock_for(client):
        client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
        client.database = database
    return client


class Database:
    """One database on a shared client. Every call holds the client's lock and runs with the
    client's current database set to ``database``; unqualified table names in ``insert`` are
    qualified with it. The ``a*`` twins run the same call in a worker thread, because neither
    chDB nor clickhouse-connect offers an async client that chDB supports."""

    def __init__(self, client: Any, database: str) -> None:
        self.client = client
        self.database = check_identifier(database)
        self._lock = _lock_for(client)

    def _qualified(self, table: str) -> str:
        return table if "." in table else f"{self.database}.{table}"

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            previous = self.client.database
            if previous != self.database:
                self.client.database = self.database
            try:
                return getattr(self.client, method)(*args, **kwargs)
            finally:
                if previous != self.database and previous is not None:
                    self.client.database = previous

    def query(
        self,
        sql: str,
        parameters: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Any:
        """A clickhouse-connect ``QueryResult`` (``result_rows``, ``column_names``,
        ``column_types``). Raises clickhouse-connect's ``DatabaseError`` for bad SQL."""
        return self._call("query", sql, parameters=parameters, settings=settings)

    def command(
        self,
        sql: str,
        parameters: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Any:
        """Run a statement that returns no result set (DDL, OPTIMIZE, …)."""
        return self._call("command", sql, parameters=parameters, settings=settings)

    def insert(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        settings: dict[str, Any] | None = None,
    ) -> Any:
        """Insert ``rows`` (sequences in ``column_names`` order) in one block: atomic for the
        table and the materialized views attached to it."""
        return self._call(
            "insert",
            self._qualified(table),
            list(rows),
            column_names=list(column_names),
            settings=settings,
        )

    def ping(self) -> bool:
        """True when the engine answers ``SELECT 1``."""
        try:
            return bool(self.query("SELECT 1").result_rows[0][0] == 1)
        except Exception:
            return False

    async def aquery(
        self,
        sql: str,
        parameters: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Any:
        return await asyncio.to_thread(self.query, sql, parameters, settings)

    async def acommand(
        self,
        sql: str,
        parameters: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Any:
        return await asyncio.to_thread(self.command, sql, parameters, settings)

    async def ainsert(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        settings: dict[str, Any] | None = None,
    ) -> Any:
        return await asyncio.to_thread(self.insert, table, rows, column_names, settings)


def sibling(db: Database, url: str | None) -> Database:
    """Another connection to ``db``'s engine and database, with its own lock: a new handle on
    the same chDB engine (chDB runs statements of different handles at once), or a new client
    of the server at ``url``."""
    path = getattr(db.client, "path", None)
    if url is None and isinstance(path, str) and path != ":memory:":
        client = connect(None, Path(path), db.database)
    elif url is not None:
        client = connect(url, Path(), db.database)
    else:
        raise ValueError("sibling: an in-memory chDB engine has no second handle")
    return Database(client, db.database)


def open_database(settings: Settings) -> Database:
    """The warehouse's database from the settings (``EMC_CLICKHOUSE_URL`` or chDB in
    ``EMC_DATA_DIR/chdb``)."""
    client = connect(settings.clickhouse_url, settings.chdb_path, settings.clickhouse_database)
    return Database(client, settings.clickhouse_database)
