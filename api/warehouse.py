"""The warehouse process: open the database, migrate, run the sink and the HTTP API.

In embedded mode one process owns the chDB folder, so the sink and the query API share this
process (and one ``Database``). ``run`` blocks until SIGINT/SIGTERM; then the sink stops first
(flush, commit, close) and the HTTP server after it, so no stored batch is left uncommitted.
A sink that dies (Kafka unreachable, a bug) is restarted after ``_SINK_RESTART_S``; meanwhile
``/readyz`` answers 503 with the reason.

``python -m api.warehouse`` (or ``emc warehouse``) runs it with the EMC_ settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

import uvicorn

from api.app import create_app
from api.ops import instrument, poll_connections, poll_lag
from clickhouse.client import Database, open_database
from clickhouse.migrate import migrate
from core.settings import Settings, load_settings
from sink.sink import Sink

log = logging.getLogger("emc.warehouse")

_SINK_RESTART_S = 5.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: this process decides the stop order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _keep_sink_running(sink: Sink, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await sink.run(stop)
        except Exception:
            log.exception("sink failed; restarting in %.0f s", _SINK_RESTART_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _SINK_RESTART_S)


async def serve(settings: Settings, db: Database, stop: asyncio.Event | None = None) -> None:
    """Run the sink and the API until ``stop`` is set (or a signal arrives)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    sink = Sink(settings, db)
    app, registry = instrument(create_app(settings, db, sink), sink, settings)
    server = _Server(
        uvicorn.Config(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level.lower(),
            lifespan="off",
        )
    )
    sink_task = asyncio.create_task(_keep_sink_running(sink, stop), name="sink")
    server_task = asyncio.create_task(server.serve(), name="api")
    lag_task = asyncio.create_task(poll_lag(settings, registry, stop), name="lag")
    conn_task = asyncio.create_task(
        poll_connections(settings, db, registry, stop), name="connections"
    )
    stop_task = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({server_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()
        await sink_task
        await lag_task
        await conn_task
        log.info("sink stopped: rows %s, dead letters %d", sink.rows_written, sink.dead_letters)
        server.should_exit = True
        await server_task
        stop_task.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def run(settings: Settings) -> None:
    """Open the database, apply migrations, then serve until SIGINT/SIGTERM (blocking)."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    db = open_database(settings)
    applied = migrate(db.client, settings.clickhouse_database, cluster=settings.clickhouse_cluster)
    for migration in applied:
        log.info("applied migration %04d %s", migration.version, migration.name)
    log.info(
        "warehouse on http://%s:%d (database %s)",
        settings.api_host,
        settings.api_port,
        settings.clickhouse_database,
    )
    asyncio.run(serve(settings, db))


if __name__ == "__main__":
    run(load_settings())
    sys.exit(0)
