"""Where free SQL and named queries run: apart from everything else, bounded, cancellable.

An analyst's statement may run for seconds (up to its ``Limits``). It must not hold the engine
connection the dashboard, the indicator endpoints and the sink share (``Database`` serialises
calls per connection), nor the default thread pool their ``asyncio.to_thread`` calls use. So
``SqlPool`` owns its own engine connections (``clickhouse.client.sibling``: more handles on the
same chDB engine, or more clients of the same server) and one thread per connection:

- at most ``size`` statements run at once; a request that finds every connection busy waits up
  to ``queue_wait_s`` and is then answered 503 with ``Retry-After`` (``Busy``);
- each token runs at most ``per_token`` statements at once; one more is answered 429 with
  ``Retry-After`` (``TooMany``) before it waits for anything;
- a statement whose client goes away (the request task is cancelled, or the server reports the
  disconnect) is killed in the engine (``KILL QUERY`` of the statement's tag in
  ``system.processes``), so a closed browser tab does not keep a core busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from clickhouse.client import Database, sibling
from core.settings import Settings
from indicators.sql import SqlFailed, SqlRefused

log = logging.getLogger(__name__)

T = TypeVar("T")
#: How often a running statement looks whether its client is still there.
DISCONNECT_POLL_S = 0.25


class Busy(RuntimeError):
    """Every SQL connection stayed busy for the whole wait (answered 503)."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("sql: every SQL connection is busy; try again shortly")
        self.retry_after_s = retry_after_s


class TooMany(RuntimeError):
    """This token already runs its share of statements (answered 429)."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(
            f"sql: this token already runs {limit} statement{'s' if limit != 1 else ''} "
            "at once; wait for it to finish"
        )
        self.retry_after_s = retry_after_s


class SqlPool:
    """Engine connections and threads reserved for free SQL and named queries."""

    def __init__(
        self, databases: list[Database], control: Database, *, queue_wait_s: float = 5.0
    ) -> None:
        if not databases:
            raise ValueError("SqlPool needs at least one database connection")
        self._free: asyncio.Queue[Database] | None = None
        self._databases = databases
        self._control = control
        self._executor = ThreadPoolExecutor(len(databases), thread_name_prefix="emc-sql")
        self._running: dict[str, int] = {}
        self.queue_wait_s = queue_wait_s

    @property
    def size(self) -> int:
        return len(self._databases)

    def _queue(self) -> asyncio.Queue[Database]:
        # created on first use, inside the event loop that serves the requests
        if self._free is None:
            self._free = asyncio.Queue()
            for db in self._databases:
                self._free.put_nowait(db)
        return self._free

    def running(self, key: str) -> int:
        """Statements of token ``key`` running (or waiting for a connection) now."""
        return self._running.get(key, 0)

    async def run(
        self,
        key: str,
        per_token: int,
        work: Callable[[Database, str], T],
        disconnected: Callable[[], Awaitable[bool]] | None = None,
        retry_after_s: int = 1,
    ) -> T:
        """``work(db, tag)`` on a pool connection in a pool thread. ``key`` identifies the
        token (at most ``per_token`` at once); ``tag`` must appear in the statement text
        (``indicators.scoped_sql.tagged``) so the statement can be killed when ``disconnected()``
        turns true or the calling task is cancelled."""
        if self.running(key) >= per_token:
            raise TooMany(per_token, retry_after_s)
        self._running[key] = self.running(key) + 1
        try:
            try:
                db = await asyncio.wait_for(self._queue().get(), self.queue_wait_s)
            except TimeoutError:
                raise Busy(max(retry_after_s, 1)) from None
            try:
                return await self._run_on(db, work, disconnected)
            finally:
                self._queue().put_nowait(db)
        finally:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]

    async def _run_on(
        self,
        db: Database,
        work: Callable[[Database, str], T],
        disconnected: Callable[[], Awaitable[bool]] | None,
    ) -> T:
        tag = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        future = asyncio.ensure_future(loop.run_in_executor(self._executor, work, db, tag))
        try:
            while True:
                done, _ = await asyncio.wait({future}, timeout=DISCONNECT_POLL_S)
                if done:
                    return future.result()
                if disconnected is not None and await disconnected():
                    log.info("sql: client went away, cancelling statement %s", tag)
                    await self._kill(tag)
                    return await future
        except asyncio.CancelledError:
            await asyncio.shield(self._kill(tag))
            with contextlib.suppress(Exception):
                await asyncio.shield(future)
            raise

    async def _kill(self, tag: str) -> None:
        """Kill the statement carrying ``tag`` (no error when it already ended)."""
        try:
            await asyncio.to_thread(kill_tagged, self._control, tag)
        except Exception:  # the statement finishes or fails on its own anyway
            log.exception("sql: could not cancel statement %s", tag)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def kill_tagged(db: Database, tag: str) -> int:
    """``KILL QUERY`` every running statement whose text carries ``emc-sql:{tag}``; how many."""
    if not tag.isalnum():
        raise ValueError("tag: letters and digits only")
    rows = db.query(
        "SELECT query_id FROM system.processes WHERE query LIKE {p:String}"
        " AND query NOT LIKE '%system.processes%'",
        parameters={"p": f"%emc-sql:{tag}%"},
    ).result_rows
    for (query_id,) in rows:
        db.command("KILL QUERY WHERE query_id = {id:String} SYNC", parameters={"id": query_id})
    return len(rows)


def token_key(token: str | None) -> str:
    """A per-token key for concurrency limits that keeps no token in memory."""
    return hashlib.sha256((token or "").encode()).hexdigest()[:16]


SQL_ERRORS = (SqlRefused, SqlFailed, TooMany, Busy)


class LazySqlPool:
    """The app's ``SqlPool``, opened at the first statement (most processes of the test suite
    never run one, and each pool holds its own engine connections)."""

    def __init__(self, settings: Settings, db: Database, pool: SqlPool | None) -> None:
        self._settings, self._db, self._pool = settings, db, pool

    def get(self) -> SqlPool:
        if self._pool is None:
            url = self._settings.clickhouse_url
            databases = [sibling(self._db, url) for _ in range(self._settings.sql_workers)]
            self._pool = SqlPool(databases, self._db, queue_wait_s=self._settings.sql_queue_wait_s)
        return self._pool
