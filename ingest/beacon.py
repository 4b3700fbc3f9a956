"""``/collect``: the browser beacon (``POST``, how ``navigator.sendBeacon`` sends a hit), the
pixel (``GET``) and the CORS preflight (``OPTIONS``).

Why its own module: ``POST /collect`` is the request every page view of every site sends, so
it is answered in raw ASGI (``Beacon.post``) before Starlette's middleware and router
(``ingest.app.CollectorApp`` dispatches on ``is_beacon_post``): Starlette's request and
response objects, its router (a regular expression per route) and its middleware layers cost
more CPU than reading, validating and producing the hit (BENCHMARKS.md, "Collector": profile
and the cost of each step). Every other request, and the other methods of ``/collect``, go
through Starlette as before (``Beacon.collect``).

Contract, the same on both paths: the body is refused (413) as soon as it is known to be too
large; a refused hit is the JSON error of ``ingest.requests`` (400 / 413 / 415 / 422, counted
by reason); nothing is acknowledged before Kafka has the hit (``202`` without a body, or the
GIF of the pixel), and when the producer fails the answer is 503 with ``Retry-After``; every
answer carries the CORS headers. A site registered a moment ago waits for a fresh registry load
(``ingest.sites``). Building the hit is ``ingest.requests.build_beacon`` (pure).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from core.settings import Settings
from ingest.answers import CORS, refused, unavailable
from ingest.client_ip import client_ip
from ingest.counters import Counters
from ingest.producer import KafkaUnavailable, Producer
from ingest.requests import (
    Limits,
    RequestError,
    body_too_large,
    build_beacon,
    check_content_length,
    parse_beacon_body,
)
from ingest.sites import SiteCache

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: A transparent 1×1 GIF for the pixel endpoint.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

#: The raw headers of ``202`` on the fast path: what Starlette's ``Response(status_code=202,
#: headers=CORS)`` sends (a unit test compares them).
ACCEPTED_HEADERS: list[tuple[bytes, bytes]] = [
    *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in CORS.items()),
    (b"content-length", b"0"),
]


class CollectorParts(Protocol):
    """What the beacon uses of the collector (``ingest.app._Collector``)."""

    settings: Settings
    producer: Producer
    sites: SiteCache
    counters: Counters
    limits: Limits
    secret: bytes
    trusted: Any


def headers_of(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request headers as one dict (lower-case names), built once per request instead of
    a scan per lookup. Repeated headers are joined with ", " (RFC 9110 list semantics, which
    is what X-Forwarded-For needs; other repeated headers are malformed anyway)."""
    out: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


async def read_body(receive: Receive, content_length: str | None, limits: Limits) -> bytes:
    """The body, refused (413) as soon as it is known to exceed the limit: by
    Content-Length before reading, and by counting while reading (the header may lie or be
    absent). Reads the ASGI messages directly (this is the per-request hot path)."""
    check_content_length(content_length, limits)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limits.max_body_bytes:
                raise body_too_large(limits)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class Beacon:
    """The ``/collect`` endpoint; ``accept`` is shared by both paths."""

    def __init__(self, parts: CollectorParts) -> None:
        self.parts = parts
        self.counters = parts.counters
        self.topic = parts.settings.topics.hits_raw
        self.retry_after_s = parts.settings.retry_after_s

    async def accept(
        self, params: Mapping[str, Any], peer: str, headers: Mapping[str, str]
    ) -> None:
        """Validate one hit and wait until Kafka has it; raises ``RequestError`` or
        ``KafkaUnavailable``."""
        parts = self.parts
        sites = parts.sites
        site_id = params.get("s", params.get("site"))
        if isinstance(site_id, str) and site_id.strip() not in sites.sites:
            await sites.ensure([site_id.strip()])
        message = build_beacon(
            params,
            ip=client_ip(
                peer, headers.get("x-forwarded-for"), headers.get("x-real-ip"), parts.trusted
            ),
            ua=headers.get("user-agent", ""),
            now_ms=int(time.time() * 1000),
            sites=sites.sites,
            limits=parts.limits,
            secret=parts.secret,
        )
        await parts.producer.send_batch(self.topic, [message])

    async def collect(self, request: Request) -> Response:
        """The Starlette route: the pixel (``GET``), the preflight, and any other method."""
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=CORS)
        pixel = request.method == "GET"
        headers = headers_of(request.scope["headers"])
        try:
            if pixel:
                params: dict[str, Any] = dict(request.query_params)
            else:
                body = await read_body(
                    request.receive, headers.get("content-length"), self.parts.limits
                )
                params = parse_beacon_body(body, headers.get("content-type"))
            await self.accept(params, request.client.host if request.client else "", headers)
        except RequestError as exc:
            return refused(self.counters, exc, CORS)
        except KafkaUnavailable as exc:
            return unavailable(self.counters, self.retry_after_s, exc, CORS)
        self.counters.accept("hits")
        if pixel:
            self.counters.request(200)
            return Response(
                PIXEL_GIF, 200, {**CORS, "Cache-Control": "no-store"}, media_type="image/gif"
            )
        self.counters.request(202)
        return Response(status_code=202, headers=CORS)

    async def post(self, scope: Scope, receive: Receive, send: Send) -> int:
        """``POST /collect`` in raw ASGI: the same steps and answers as ``collect``; returns
        the status sent."""
        headers = _beacon_headers(scope["headers"])
        try:
            body = await read_body(receive, headers.get("content-length"), self.parts.limits)
            params = parse_beacon_body(body, headers.get("content-type"))
            client = scope.get("client")
            await self.accept(params, client[0] if client else "", headers)
        except RequestError as exc:
            await refused(self.counters, exc, CORS)(scope, receive, send)
            return exc.status
        except KafkaUnavailable as exc:
            await unavailable(self.counters, self.retry_after_s, exc, CORS)(scope, receive, send)
            return 503
        self.counters.accept_later("hits")
        self.counters.request_later(202)
        await send({"type": "http.response.start", "status": 202, "headers": ACCEPTED_HEADERS})
        await send({"type": "http.response.body", "body": b""})
        return 202


#: The request headers the beacon reads (``_beacon_headers``).
_WANTED = {
    name.encode(): name
    for name in ("content-length", "content-type", "user-agent", "x-forwarded-for", "x-real-ip")
}


def _beacon_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """``headers_of`` restricted to the headers the beacon reads (the others are not decoded)."""
    out: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name = _WANTED.get(raw_name)
        if name is not None:
            value = raw_value.decode("latin-1")
            out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def is_beacon_post(scope: Scope) -> bool:
    """Whether the fast path answers this request: ``POST /collect``, the path compared with
    ``scope["path"]`` exactly, as Starlette's router does without a ``root_path`` (the
    collector's server sets none); ``/collect/`` still reaches Starlette, which redirects it."""
    return bool(
        scope["type"] == "http" and scope["path"] == "/collect" and scope["method"] == "POST"
    )
