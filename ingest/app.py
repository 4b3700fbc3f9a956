"""The collector's HTTP app: routes only. Parsing and validation live in ``ingest.requests``
(pure), Kafka in ``ingest.producer``, the site registry in ``ingest.sites``.

Routes: ``POST|GET|OPTIONS /collect`` (browser beacon, CORS open: ``ingest.beacon``, whose
``POST`` is answered by a thin ASGI layer before Starlette's router), ``POST /v1/hits``,
``POST /v1/dossiers`` (bearer token, NDJSON or JSON array), ``POST /TrackingMCDT`` (the EMC
one-stop push, ``ingest.mcdt``; answers 204), ``GET /healthz``, ``GET /readyz``
(200 only while Kafka answers), ``GET /stats`` (counters summed over the collector processes
of this port, how many are alive, the answering one's pid and registry copy), ``GET /metrics``
(Prometheus, the same sums);
the last two need ``Authorization: Bearer <EMC_METRICS_TOKEN>`` when that is set
(``core.metrics_auth``); ``GET /sites/{id}/ready`` (admin token: 200 once the collector's copy of
the registry, freshly loaded, knows the site, else 404; ``emc sites add`` asks it).
Nothing is acknowledged before Kafka has it: when the producer fails the answer is 503 with
``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import metrics, metrics_auth
from core.settings import Settings
from ingest.answers import json_response as _json
from ingest.answers import refused, unavailable
from ingest.beacon import PIXEL_GIF, Beacon, headers_of, is_beacon_post, read_body
from ingest.counters import Counters, stats_of
from ingest.producer import KafkaProducer, KafkaUnavailable, Message, Producer
from ingest.requests import (
    BatchResult,
    Grant,
    Limits,
    RequestError,
    authorize,
    build_dossiers,
    build_server_hits,
    media_type,
    parse_batch,
    site_ids_in,
)
from ingest.sites import SiteCache
from ingest.tracker_routes import routes as tracker_routes

log = logging.getLogger(__name__)

__all__ = ["PIXEL_GIF", "create_app"]


async def _multipart_fields(request: Request, body: bytes) -> dict[str, Any]:
    """The text fields of a multipart form whose body was already read (and size-checked):
    Starlette's parser (python-multipart) reads it again from a replayed receive."""
    from starlette.datastructures import UploadFile

    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form()
    except Exception as exc:  # python-multipart's parse errors have no common base class
        raise RequestError(
            400, f"body is not a valid multipart form: {exc}", reason="malformed_body"
        ) from None
    return {key: value for key, value in form.multi_items() if not isinstance(value, UploadFile)}


class _Collector:
    """The route handlers and what they share."""

    def __init__(
        self,
        settings: Settings,
        producer: Producer,
        sites: SiteCache,
        counters: Counters,
        exposed: CollectorRegistry,
    ) -> None:
        self.exposed = exposed
        self.settings = settings
        self.producer = producer
        self.sites = sites
        self.counters = counters
        self.limits = Limits.from_settings(settings)
        self.secret = settings.visitor_secret()
        self.admin_token = settings.admin_token.get_secret_value()
        self.trusted = settings.trusted_networks

    # ----------------------------------------------------------------- helpers

    def _error(self, exc: RequestError) -> Response:
        return refused(self.counters, exc)

    def _unavailable(self, exc: KafkaUnavailable) -> Response:
        return unavailable(self.counters, self.settings.retry_after_s, exc)

    async def _body(self, request: Request, headers: Mapping[str, str]) -> bytes:
        return await read_body(request.receive, headers.get("content-length"), self.limits)

    async def _produce(self, topic: str, messages: list[Message]) -> None:
        await self.producer.send_batch(topic, messages)

    # ----------------------------------------------------------------- batches

    async def _grant(self, headers: Mapping[str, str]) -> Grant:
        header = headers.get("authorization")
        try:
            return authorize(header, self.admin_token, self.sites.tokens)
        except RequestError:
            token = (header or "").partition(" ")[2].strip()
            if not token:
                raise
            await self.sites.ensure(token=token)  # a site registered a moment ago
            return authorize(header, self.admin_token, self.sites.tokens)

    async def _batch(
        self,
        request: Request,
        topic: str,
        kind: str,
        build: Callable[[list[tuple[int, Any]], Grant, int], BatchResult],
    ) -> Response:
        headers = headers_of(request.scope["headers"])
        try:
            grant = await self._grant(headers)
            items = parse_batch(
                await self._body(request, headers), headers.get("content-type"), self.limits
            )
            await self.sites.ensure(site_ids_in(items))
            result = build(items, grant, int(time.time() * 1000))
            if result.messages:
                await self._produce(topic, result.messages)
        except RequestError as exc:
            return self._error(exc)
        except KafkaUnavailable as exc:
            return self._unavailable(exc)
        for rejection in result.rejected:
            self.counters.reject(rejection.reason)
        self.counters.accept(kind, len(result.messages))
        self.counters.request(result.status)
        return _json(result.status, result.body())

    async def hits(self, request: Request) -> Response:
        def build(items: list[tuple[int, Any]], grant: Grant, now_ms: int) -> BatchResult:
            return build_server_hits(
                items,
                grant=grant,
                now_ms=now_ms,
                sites=self.sites.sites,
                limits=self.limits,
                secret=self.secret,
            )

        return await self._batch(request, self.settings.topics.hits_raw, "hits", build)

    async def dossiers(self, request: Request) -> Response:
        def build(items: list[tuple[int, Any]], grant: Grant, now_ms: int) -> BatchResult:
            return build_dossiers(
                items, grant=grant, now_ms=now_ms, sites=self.sites.sites, limits=self.limits
            )

        return await self._batch(request, self.settings.topics.dossiers_raw, "dossiers", build)

    async def tracking_mcdt(self, request: Request) -> Response:
        """The EMC push (see ``ingest.mcdt``): 204 once Kafka has every event of it."""
        from ingest import mcdt

        headers = headers_of(request.scope["headers"])
        try:
            grant: Grant | None = None
            if headers.get("authorization") or self.settings.mcdt_require_token:
                grant = await self._grant(headers)
            body = await self._body(request, headers)
            content_type = headers.get("content-type")
            if media_type(content_type) == mcdt.MULTIPART_TYPE:
                items = [await _multipart_fields(request, body)]
            else:
                items = mcdt.parse_body(body, content_type)
            await self.sites.ensure(mcdt.site_ids(items))
            messages = mcdt.build_messages(
                items,
                sites=self.sites.sites,
                grant=grant,
                now_ms=int(time.time() * 1000),
                limits=self.limits,
            )
            await self._produce(self.settings.topics.dossiers_raw, messages)
        except RequestError as exc:
            return self._error(exc)
        except KafkaUnavailable as exc:
            return self._unavailable(exc)
        self.counters.accept("dossiers", len(messages))
        self.counters.request(204)
        return Response(status_code=204)

    # ----------------------------------------------------------------- health

    async def healthz(self, request: Request) -> Response:
        return _json(200, {"status": "alive"})

    async def readyz(self, request: Request) -> Response:
        if await self.producer.ready():
            return _json(200, {"status": "ready", "kafka": "reachable"})
        return _json(
            503,
            {"status": "not ready", "kafka": "unreachable"},
            {"Retry-After": str(self.settings.retry_after_s)},
        )

    async def site_ready(self, request: Request) -> Response:
        """200 when a registry load that started after this request knows the site (the
        same bounded, shared wait as an unknown site's hit), else 404."""
        try:
            authorize(request.headers.get("authorization"), self.admin_token, {})
        except RequestError as exc:
            return _json(exc.status, exc.body())
        site_id = str(request.path_params["site_id"])
        await self.sites.sync()
        if site_id in self.sites.sites:
            return _json(200, {"site": site_id, "ready": True})
        return _json(
            404,
            {
                "error": f"site {site_id!r} is not in the collector's copy of the registry",
                "site": site_id,
                "ready": False,
                "registry_error": self.sites.last_error or None,
            },
        )

    async def stats(self, request: Request) -> Response:
        """The counters of every collector process on this port (summed), and this process's
        own id and copy of the site registry."""
        self.counters.flush()
        families = list(self.exposed.collect())
        body: dict[str, Any] = dict(stats_of(families))
        workers = [
            s.value for f in families if f.name == metrics.COLLECTOR_WORKERS.name for s in f.samples
        ]
        body["workers"] = int(sum(workers)) or 1
        body["pid"] = os.getpid()
        body["sites"] = {
            "count": len(self.sites.sites),
            "loaded": self.sites.loaded,
            "last_error": self.sites.last_error,
        }
        return _json(200, body)


# ``scope["path"]``, not ``request.url``: building the URL decodes the raw query string,
# which fails on bytes that are not UTF-8 (a 500 for a hostile request)
async def _not_found(request: Request, exc: Exception) -> Response:
    return _json(404, {"error": f"no route {request.method} {request.scope['path']}"})


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return _json(405, {"error": f"method {request.method} not allowed on {request.scope['path']}"})


async def _flush_counters(counters: Counters) -> None:
    """What the beacon tallied, into the shared counters every ``Tally.FLUSH_S``."""
    while True:
        await asyncio.sleep(metrics.Tally.FLUSH_S)
        counters.flush()


class CollectorApp(Starlette):
    """The Starlette app, except ``POST /collect``: the browser beacon is answered before
    Starlette's middleware and router (``ingest.beacon``), its response counted in the same
    HTTP metrics. An exception there reaches uvicorn, which logs it and answers 500, as
    Starlette's error middleware would."""

    def __init__(self, *, beacon: Beacon, recorder: metrics.HttpRecorder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.beacon = beacon
        self.recorder = recorder

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not is_beacon_post(scope):
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        try:
            status = await self.beacon.post(scope, receive, send)
        finally:
            self.recorder.observe_later(
                self.beacon.counters.tally, "/collect", status, time.perf_counter() - started
            )


def create_app(
    settings: Settings,
    producer: Producer | None = None,
    sites: SiteCache | None = None,
    metrics_dir: Path | None = None,
) -> CollectorApp:
    """The collector app. The lifespan starts and stops the producer and the site cache;
    defaults: the real Kafka producer and the warehouse-backed site cache. ``metrics_dir``:
    this process is one of several on one port, whose metrics are merged from that folder
    (``core.metrics.use_multiprocess`` was called first; ``ingest.server``)."""
    the_producer: Producer = producer or KafkaProducer.from_settings(settings)
    the_sites = sites or SiteCache(settings)
    registry = metrics.new_registry()
    exposed = metrics.exposition_registry(registry, metrics_dir)
    counters = Counters(registry)
    reconnects = PromCounter(
        metrics.PRODUCER_RECONNECTS.name, metrics.PRODUCER_RECONNECTS.help, registry=registry
    )
    if isinstance(the_producer, KafkaProducer):
        the_producer.on_reconnect = reconnects.inc
    metrics.worker_gauge(registry)
    handlers = _Collector(settings, the_producer, the_sites, counters, exposed)
    beacon = Beacon(handlers)

    async def prometheus(request: Request) -> Response:
        counters.flush()
        body, content_type = metrics.render(exposed)
        return Response(body, 200, {"Content-Type": content_type})

    endpoint = Callable[[Request], Awaitable[Response]]
    ops_tokens = metrics_auth.accepted_tokens(settings)

    def operations(handler: endpoint) -> endpoint:
        """``handler`` behind ``EMC_METRICS_TOKEN`` when it is set (401 JSON otherwise)."""

        async def guarded(request: Request) -> Response:
            if not metrics_auth.allowed(request.headers.get("authorization"), ops_tokens):
                return _json(401, metrics_auth.unauthorized_body(), dict(metrics_auth.CHALLENGE))
            return await handler(request)

        return guarded

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        metrics_auth.warn_if_open(settings, "collector", ["/metrics", "/stats"], log)
        await the_producer.start()
        await the_sites.start()
        flusher = asyncio.create_task(_flush_counters(counters), name="emc-counters-flush")
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await the_sites.stop()
            await the_producer.stop()
            counters.flush()

    routes: list[tuple[str, endpoint, list[str]]] = [
        ("/collect", beacon.collect, ["GET", "POST", "OPTIONS"]),  # POST: CollectorApp first
        ("/v1/hits", handlers.hits, ["POST"]),
        ("/v1/dossiers", handlers.dossiers, ["POST"]),
        ("/TrackingMCDT", handlers.tracking_mcdt, ["POST"]),
        ("/healthz", handlers.healthz, ["GET"]),
        ("/readyz", handlers.readyz, ["GET"]),
        ("/sites/{site_id}/ready", handlers.site_ready, ["GET"]),
        ("/stats", operations(handlers.stats), ["GET"]),
        ("/metrics", operations(prometheus), ["GET"]),
    ]
    recorder = metrics.HttpRecorder(registry, [r[0] for r in routes])
    app = CollectorApp(
        beacon=beacon,
        recorder=recorder,
        routes=[
            *(Route(path, fn, methods=methods) for path, fn, methods in routes),
            *tracker_routes(handlers),  # emc.js, emc-compat.js, Matomo protocol (issue 5)
        ],
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_allowed},
        middleware=[Middleware(metrics.HttpMetrics, recorder=recorder)],
    )
    app.state.counters = counters
    app.state.metrics_registry = exposed
    app.state.producer = the_producer
    app.state.sites = the_sites
    return app
