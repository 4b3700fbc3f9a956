"""The collector's HTTP app: routes only. Parsing and validation live in ``ingest.requests``
(pure), Kafka in ``ingest.producer``, the site registry in ``ingest.sites``.

Routes: ``POST|GET|OPTIONS /collect`` (browser beacon, CORS open), ``POST /v1/hits``,
``POST /v1/dossiers`` (bearer token, NDJSON or JSON array), ``POST /TrackingMCDT`` (the EMC
one-stop push, ``ingest.mcdt``; answers 204), ``GET /healthz``, ``GET /readyz``
(200 only while Kafka answers), ``GET /stats`` (counters), ``GET /metrics`` (Prometheus);
the last two need ``Authorization: Bearer <EMC_METRICS_TOKEN>`` when that is set
(``core.metrics_auth``); ``GET /sites/{id}/ready`` (admin token: 200 once the collector's copy of
the registry, freshly loaded, knows the site, else 404; ``emc sites add`` asks it).
Nothing is acknowledged before Kafka has it: when the producer fails the answer is 503 with
``Retry-After``.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from core import metrics, metrics_auth
from core.settings import Settings
from ingest.client_ip import client_ip
from ingest.counters import Counters
from ingest.producer import KafkaProducer, KafkaUnavailable, Message, Producer
from ingest.requests import (
    BatchResult,
    Grant,
    Limits,
    RequestError,
    authorize,
    body_too_large,
    build_beacon,
    build_dossiers,
    build_server_hits,
    check_content_length,
    media_type,
    parse_batch,
    parse_beacon_body,
    site_ids_in,
)
from ingest.sites import SiteCache
from ingest.tracker_routes import routes as tracker_routes

log = logging.getLogger(__name__)

#: A transparent 1×1 GIF for the pixel endpoint.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


def _headers(request: Request) -> dict[str, str]:
    """The request headers as one dict (lower-case names), built once per request instead of
    a scan per lookup. Repeated headers are joined with ", " (RFC 9110 list semantics, which
    is what X-Forwarded-For needs; other repeated headers are malformed anyway)."""
    out: dict[str, str] = {}
    for raw_name, raw_value in request.scope["headers"]:
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


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
        self, settings: Settings, producer: Producer, sites: SiteCache, counters: Counters
    ) -> None:
        self.settings = settings
        self.producer = producer
        self.sites = sites
        self.counters = counters
        self.limits = Limits.from_settings(settings)
        self.secret = settings.visitor_secret()
        self.admin_token = settings.admin_token.get_secret_value()
        self.trusted = settings.trusted_networks

    # ----------------------------------------------------------------- helpers

    def _error(self, exc: RequestError, headers: dict[str, str] | None = None) -> Response:
        self.counters.reject(exc.reason)
        self.counters.request(exc.status)
        return _json(exc.status, exc.body(), headers)

    def _unavailable(
        self, exc: KafkaUnavailable, headers: dict[str, str] | None = None
    ) -> Response:
        self.counters.reject("kafka_unavailable")
        self.counters.request(503)
        log.warning("answering 503: %s", exc)
        retry = str(self.settings.retry_after_s)
        return _json(
            503,
            {
                "error": "Kafka unavailable, nothing was accepted; retry later",
                "reason": "kafka_unavailable",
                "retry_after_s": self.settings.retry_after_s,
            },
            {**(headers or {}), "Retry-After": retry},
        )

    async def _body(self, request: Request, headers: Mapping[str, str]) -> bytes:
        """The body, refused (413) as soon as it is known to exceed the limit: by
        Content-Length before reading, and by counting while reading (the header may lie or
        be absent). Reads the ASGI messages directly (this is the per-request hot path)."""
        check_content_length(headers.get("content-length"), self.limits)
        receive = request.receive
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk: bytes = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > self.limits.max_body_bytes:
                    raise body_too_large(self.limits)
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _produce(self, topic: str, messages: list[Message]) -> None:
        await self.producer.send_batch(topic, messages)

    # ----------------------------------------------------------------- beacon

    async def collect(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=_CORS)
        pixel = request.method == "GET"
        headers = _headers(request)
        try:
            if pixel:
                params: dict[str, Any] = dict(request.query_params)
            else:
                params = parse_beacon_body(
                    await self._body(request, headers), headers.get("content-type")
                )
            site_id = params.get("s", params.get("site"))
            if isinstance(site_id, str):
                await self.sites.ensure([site_id.strip()])
            peer = request.client.host if request.client else ""
            message = build_beacon(
                params,
                ip=client_ip(
                    peer,
                    headers.get("x-forwarded-for"),
                    headers.get("x-real-ip"),
                    self.trusted,
                ),
                ua=headers.get("user-agent", ""),
                now_ms=int(time.time() * 1000),
                sites=self.sites.sites,
                limits=self.limits,
                secret=self.secret,
            )
            await self._produce(self.settings.topics.hits_raw, [message])
        except RequestError as exc:
            return self._error(exc, _CORS)
        except KafkaUnavailable as exc:
            return self._unavailable(exc, _CORS)
        self.counters.accept("hits")
        if pixel:
            self.counters.request(200)
            return Response(
                PIXEL_GIF, 200, {**_CORS, "Cache-Control": "no-store"}, media_type="image/gif"
            )
        self.counters.request(202)
        return Response(status_code=202, headers=_CORS)

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
        headers = _headers(request)
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

        headers = _headers(request)
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
        body: dict[str, Any] = dict(self.counters.snapshot())
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


def create_app(
    settings: Settings,
    producer: Producer | None = None,
    sites: SiteCache | None = None,
) -> Starlette:
    """The collector app. The lifespan starts and stops the producer and the site cache;
    defaults: the real Kafka producer and the warehouse-backed site cache."""
    the_producer: Producer = producer or KafkaProducer.from_settings(settings)
    the_sites = sites or SiteCache(settings)
    counters = Counters()
    handlers = _Collector(settings, the_producer, the_sites, counters)
    registry = metrics.new_registry()
    metrics.bridge(registry, lambda: metrics.collector_families(counters, the_producer))

    async def prometheus(request: Request) -> Response:
        body, content_type = metrics.render(registry)
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
        try:
            yield
        finally:
            await the_sites.stop()
            await the_producer.stop()

    routes: list[tuple[str, endpoint, list[str]]] = [
        ("/collect", handlers.collect, ["GET", "POST", "OPTIONS"]),
        ("/v1/hits", handlers.hits, ["POST"]),
        ("/v1/dossiers", handlers.dossiers, ["POST"]),
        ("/TrackingMCDT", handlers.tracking_mcdt, ["POST"]),
        ("/healthz", handlers.healthz, ["GET"]),
        ("/readyz", handlers.readyz, ["GET"]),
        ("/sites/{site_id}/ready", handlers.site_ready, ["GET"]),
        ("/stats", operations(handlers.stats), ["GET"]),
        ("/metrics", operations(prometheus), ["GET"]),
    ]
    app = Starlette(
        routes=[
            *(Route(path, fn, methods=methods) for path, fn, methods in routes),
            *tracker_routes(handlers),  # emc.js, emc-compat.js, Matomo protocol (issue 5)
        ],
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_allowed},
        middleware=[
            Middleware(metrics.HttpMetrics, registry=registry, endpoints=[r[0] for r in routes])
        ],
    )
    app.state.counters = counters
    app.state.metrics_registry = registry
    app.state.producer = the_producer
    app.state.sites = the_sites
    return app
