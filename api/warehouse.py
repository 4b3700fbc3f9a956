"""The warehouse process: open the database, migrate, run the sink and the HTTP API.

In embedded mode one process owns the chDB folder, so the sink and the query API share this
process (and one ``Database``). ``run`` blocks until SIGINT/SIGTERM; then the sink stops first
(flush, commit, close) and the HTTP server after it, so no stored batch is left uncommitted.
A sink that dies (Kafka unreachable, a bug) is restarted after ``_SINK_RESTART_S``; meanwhile
``/readyz`` answers 503 with the reason.

``python -m api.warehouse`` (or ``emc warehouse``) runs it with the EMC_ settings.

Scaled apart (issue 15), with a ClickHouse server only (``EMC_CLICKHOUSE_URL``): ``emc sink``
(``run_sink``) runs the sink alone, with ``/healthz``, ``/readyz`` and ``/metrics`` on
``EMC_SINK_PORT``; start as many as the sink's topics have partitions (one consumer group
spreads them; a batch is replayed with the same deduplication token after a rebalance or a
crash, as in one process). ``emc api`` (``run_api``) serves the query API without a sink:
stateless, so any number of replicas behind a load balancer. Neither applies migrations: several
processes must not race at it, so ``emc migrate`` runs once before them, and both refuse to
start while a migration is pending. chDB is in-process and single-writer: one process owns the
folder, so both refuse it (``split_problem``) and ``emc warehouse`` stays the way to run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry

from api.app import create_app
from api.mailer import Mailer
from api.ops import instrument, poll_connections, poll_lag
from api.routes import health
from clickhouse.client import Database, open_database
from clickhouse.migrate import migrate
from core.errors import UserError
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


class Role(enum.Enum):
    """What one warehouse process runs: everything (``emc warehouse``), or one half."""

    WAREHOUSE = "warehouse"
    SINK = "sink"
    API = "api"


def split_problem(settings: Settings, role: Role) -> str | None:
    """Why ``role`` cannot run with these settings (a message naming the setting), or None."""
    if role is Role.WAREHOUSE or settings.clickhouse_url:
        return None
    return (
        f"`emc {role.value}` runs apart from the "
        f"{'query API' if role is Role.SINK else 'sink'} only with a ClickHouse server: set "
        "EMC_CLICKHOUSE_URL. The embedded chDB (EMC_CLICKHOUSE_URL unset) is in-process and "
        "single-writer, so one process owns its folder: run `emc warehouse` instead"
    )


def build_app(
    settings: Settings,
    db: Database,
    role: Role,
    sink: Sink | None = None,
    mailer: Mailer | None = None,
) -> tuple[Any, CollectorRegistry]:
    """(the ASGI app, its metrics registry) of ``role``: the query API (with ``sink`` reported
    by ``/readyz`` when given), or for ``Role.SINK`` only the probes and ``/metrics``."""
    routes = list(health.ROUTES) if role is Role.SINK else None
    app = create_app(settings, db, sink, routes=routes, mailer=mailer)
    return instrument(app, sink, settings)


async def serve(
    settings: Settings,
    db: Database,
    stop: asyncio.Event | None = None,
    role: Role = Role.WAREHOUSE,
) -> None:
    """Run the sink and/or the API (``role``) until ``stop`` is set (or a signal arrives)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    sink = Sink(settings, db) if role is not Role.API else None
    mailer = Mailer(settings, db, time.time) if role is not Role.SINK else None
    app, registry = build_app(settings, db, role, sink, mailer)
    server = _Server(
        uvicorn.Config(
            app,
            host=settings.api_host,
            port=settings.sink_port if role is Role.SINK else settings.api_port,
            log_level=settings.log_level.lower(),
            lifespan="off",
        )
    )
    tasks = []
    if sink is not None:
        tasks.append(asyncio.create_task(_keep_sink_running(sink, stop), name="sink"))
        tasks.append(asyncio.create_task(poll_lag(settings, registry, stop), name="lag"))
    if role is not Role.SINK:
        tasks.append(
            asyncio.create_task(poll_connections(settings, db, registry, stop), name="connections")
        )
    if mailer is not None and settings.mail_poll_s > 0 and settings.smtp_url is not None:
        tasks.append(asyncio.create_task(mailer.run(stop), name="mail"))
    elif mailer is not None:
        log.info(
            "mail loop off (%s)", "EMC_MAIL_POLL_S=0" if settings.smtp_url else "EMC_SMTP_URL unset"
        )
    server_task = asyncio.create_task(server.serve(), name=role.value)
    stop_task = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({server_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()
        for task in tasks:
            await task
        if sink is not None:
            log.info("sink stopped: rows %s, dead letters %d", sink.rows_written, sink.dead_letters)
        server.should_exit = True
        await server_task
        stop_task.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def run(settings: Settings, role: Role = Role.WAREHOUSE) -> None:
    """Open the database, apply migrations (``emc warehouse``; the split roles only check that
    none is pending), then serve ``role`` until SIGINT/SIGTERM (blocking). Raises
    ``UserError`` when the role cannot run (``split_problem``, a pending migration)."""
    problem = split_problem(settings, role)
    if problem is not None:
        raise UserError(problem)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    db = open_database(settings)
    if role is Role.WAREHOUSE:
        applied = migrate(
            db.client, settings.clickhouse_database, cluster=settings.clickhouse_cluster
        )
        for migration in applied:
            log.info("applied migration %04d %s", migration.version, migration.name)
    else:
        pending = migrate(
            db.client,
            settings.clickhouse_database,
            dry_run=True,
            cluster=settings.clickhouse_cluster,
        )
        if pending:
            raise UserError(
                f"{len(pending)} migration(s) pending in database {settings.clickhouse_database} "
                f"(first: {pending[0].version:04d} {pending[0].name}): run `emc migrate` once "
                f"before starting `emc {role.value}`"
            )
    port = settings.sink_port if role is Role.SINK else settings.api_port
    log.info(
        "%s on http://%s:%d (database %s)",
        role.value,
        settings.api_host,
        port,
        settings.clickhouse_database,
    )
    asyncio.run(serve(settings, db, role=role))


if __name__ == "__main__":
    run(load_settings())
    sys.exit(0)
