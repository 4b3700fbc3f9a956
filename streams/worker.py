"""Run the stream worker: ``run_worker(settings)`` blocks until SIGTERM/SIGINT.

Before Faust starts, the broker is awaited and the project's topics are created when missing
(``broker.topics``, idempotent), with the partition counts of ``schemas.topics``: Faust
creates only its own internal topics, and a raw topic auto-created by a producer would get the
broker's default partition count. Faust's chatty INFO logs (rebalances, timers) are kept at
WARNING unless ``EMC_LOG_LEVEL=DEBUG``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from typing import Any

from core.settings import Settings

log = logging.getLogger(__name__)

#: How long the worker waits for the broker at start.
KAFKA_WAIT_S = 60.0
#: Thresholds of Python's cyclic garbage collector in the worker process (Python's default:
#: 700, 10, 10). The worker holds a large, growing table of visitor states while batches of
#: records pass through Faust and aiokafka; with the default first threshold their short-lived
#: objects were promoted to the older generations, and full collections, each a pass over
#: every state, took ~15 % of the worker's time on a backlog (BENCHMARKS.md, "Stream worker:
#: handler vs worker"). Cycles are still collected, 50,000 new container objects at a time.
GC_THRESHOLDS = (50_000, 10, 10)


def tune_gc() -> None:
    """Set the worker's garbage collector thresholds (``GC_THRESHOLDS``)."""
    gc.set_threshold(*GC_THRESHOLDS)


async def _prepare_topics(settings: Settings) -> int:
    """Wait for Kafka, create missing topics (the project's, and the visitor table's changelog,
    which Faust would otherwise create while the workers join the group:
    ``streams.app.changelog_spec``); returns the replication factor for the topics Faust still
    creates itself (as for ours: ``broker.topics.replication``; their min.insync.replicas is
    the broker's default)."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    from broker.topics import ensure_project_topics, ensure_topics, replication, wait_for_kafka
    from streams.app import changelog_spec

    bootstrap = settings.bootstrap_servers
    await wait_for_kafka(bootstrap, KAFKA_WAIT_S)
    await ensure_project_topics(settings, KAFKA_WAIT_S)
    # Faust's changelog too, before any worker joins the group (``streams.app.changelog_spec``)
    await ensure_topics(
        bootstrap,
        [changelog_spec(settings)],
        settings.topic_replication_factor,
        settings.topic_min_insync_replicas,
    )
    deadline = time.monotonic() + KAFKA_WAIT_S
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            break
        except (KafkaError, OSError):  # a dead broker still in the metadata: retried
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(1.0)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
    brokers = len(cluster.get("brokers") or ())
    return replication(brokers, settings.topic_replication_factor)[0]


def _logging_config(level: str) -> dict[str, Any]:
    quiet = "DEBUG" if level.upper() == "DEBUG" else "WARNING"
    return {
        "merge": True,
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {name: {"level": quiet} for name in ("faust", "mode", "aiokafka", "kafka")},
    }


def _exit_now(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def run_worker(settings: Settings, worker: int = 1) -> None:
    """Start the Faust worker of ``streams.app`` and block until it is stopped by a signal
    (SIGTERM or SIGINT: Faust stops the agents, flushes the producer, commits, then returns).
    ``worker`` (1-based) is this process's number among ``EMC_STREAMS_WORKERS``: its web port
    and store folder (``Settings.streams_worker_web_port``/``streams_worker_dir``).

    Raises ``SystemExit`` with a non-zero code when the worker crashed, ``TimeoutError`` when
    Kafka does not answer within ``KAFKA_WAIT_S``.
    """
    try:
        _run(settings, worker)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise


def _run(settings: Settings, worker: int) -> None:
    # until Faust installs its own handlers, SIGTERM/SIGINT end the start-up quietly
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_now)
    import faust

    from streams.app import create_app

    logging.basicConfig(level=settings.log_level.upper())
    tune_gc()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    replication_factor = loop.run_until_complete(_prepare_topics(settings))
    settings.streams_worker_dir(worker).mkdir(parents=True, exist_ok=True)
    app = create_app(settings, replication_factor=replication_factor, worker=worker)
    faust_worker = faust.Worker(
        app,
        loop=loop,
        loglevel=settings.log_level.upper(),
        quiet=True,
        logging_config=_logging_config(settings.log_level),
        redirect_stdouts=False,
    )
    faust_worker.spinner = None  # a terminal progress spinner: escape codes in log files
    log.info(
        "streams worker %d: group %s on %s, topics prefix %r, web http://127.0.0.1:%d/stats/",
        worker,
        app.conf.id,
        settings.bootstrap_servers,
        settings.topic_prefix,
        settings.streams_worker_web_port(worker),
    )
    faust_worker.execute_from_commandline()
