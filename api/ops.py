"""Operations side of the warehouse process: ``/metrics`` and the consumer-lag poller.

``instrument`` adds ``GET /metrics`` to the API app and wraps it with the HTTP metrics
middleware, bridges the sink's counters, and feeds the sink's insert histograms. With
``EMC_METRICS_TOKEN`` set, ``/metrics`` needs that token or the admin token (the dashboard's
operations screen sends the signed-in one; ``api.guard``, ``Access.METRICS``); unset, it is
open and a warning is logged (``core.metrics_auth``). The lag poller measures every consumer
group of the stack (``broker.lag``) every ``EMC_LAG_POLL_S``
seconds into gauges, so Prometheus sees the same numbers as ``emc lag``; the warehouse runs it
because it is the one process that is always there when numbers are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from api.guard import Access, route
from broker.lag import measure, stack_groups
from clickhouse import registry as site_registry
from clickhouse.client import Database
from core import metrics, metrics_auth
from core.settings import Settings
from indicators import connections
from sink.sink import Sink

log = logging.getLogger("emc.warehouse.ops")


def instrument(
    app: Starlette, sink: Sink | None, settings: Settings
) -> tuple[Any, CollectorRegistry]:
    """(the ASGI app to serve, the registry): ``/metrics`` added (behind the metrics token
    when it is set), HTTP metrics around it."""
    registry = metrics.new_registry()
    metrics_auth.warn_if_open(settings, "warehouse", ["/metrics"], log)
    if sink is not None:
        metrics.bridge(registry, lambda: metrics.sink_families(sink))
        sink.observe_insert = metrics.SinkMetrics(registry).observe
    mailer = app.state.ctx.extra.get("mailer") if hasattr(app.state, "ctx") else None
    if mailer is not None:
        metrics.bridge(registry, lambda: metrics.mail_families(mailer.counts))

    async def prometheus(request: Request) -> Response:
        body, content_type = metrics.render(registry)
        return Response(body, 200, {"Content-Type": content_type})

    app.router.routes.append(route("/metrics", prometheus, methods=["GET"], access=Access.METRICS))
    paths = [getattr(r, "path", "") for r in app.router.routes]
    return metrics.HttpMetrics(app, registry, [p for p in paths if p]), registry


def update_connections(db: Database, gauges: metrics.ConnectionMetrics, now: datetime) -> None:
    """One measurement of every registered site's connection into the gauges (blocking)."""
    sites = [s.id for s in site_registry.list_sites(db)]
    gauges.set(connections.fetch(db, sites, now) if sites else [])


async def poll_connections(
    settings: Settings, db: Database, registry: CollectorRegistry, stop: asyncio.Event
) -> None:
    """Per-site seconds since the last event, every ``lag_poll_s`` (reads the small
    ``site_receipts_hourly`` rollup); failures are logged, never raised."""
    gauges = metrics.ConnectionMetrics(registry)
    while not stop.is_set():
        try:
            await asyncio.to_thread(update_connections, db, gauges, datetime.now(UTC))
        except Exception as exc:
            log.info("measuring site connections failed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.lag_poll_s)


async def poll_lag(settings: Settings, registry: CollectorRegistry, stop: asyncio.Event) -> None:
    """Measure lag every ``lag_poll_s`` until ``stop``; failures are logged, never raised."""
    gauges = metrics.LagMetrics(registry)
    while not stop.is_set():
        try:
            rows = await asyncio.wait_for(
                measure(settings.bootstrap_servers, stack_groups(settings)),
                timeout=max(10.0, settings.lag_poll_s),
            )
            gauges.set(rows)
        except Exception as exc:
            log.info("measuring consumer lag failed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.lag_poll_s)
