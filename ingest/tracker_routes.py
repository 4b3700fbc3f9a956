"""Collector routes for browsers' trackers: the scripts (``/emc.js``, ``/emc-compat.js``) and
the Matomo tracking protocol (``/tracking``, ``/matomo.php``, ``/piwik.php``).

Why its own module: ``ingest/app.py`` keeps the collector's own endpoints; these routes reuse
its parts (site cache, producer, counters, limits) through ``CollectorParts`` and add a single
line there. Translation of Matomo requests is pure and lives in ``ingest.matomo``.

Scripts are served from memory with ``Cache-Control: public, max-age=3600`` (an hour: a fixed
tracker reaches every page within the hour, and browsers revalidate with the ``ETag`` for a
304), ``Access-Control-Allow-Origin: *`` and no cookies.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.settings import Settings
from ingest import matomo
from ingest.client_ip import client_ip
from ingest.counters import Counters
from ingest.producer import KafkaUnavailable, Message, Producer
from ingest.requests import (
    Limits,
    RequestError,
    body_too_large,
    build_beacon,
    check_content_length,
)
from ingest.sites import SiteCache

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Served path → file in ``ingest/static``. ``/matomo.js`` and ``/piwik.js`` let a snippet that
#: loads the script from the tracker host keep its file name.
SCRIPTS = {
    "/emc.js": "emc.js",
    "/emc-compat.js": "emc-compat.js",
    "/matomo.js": "emc-compat.js",
    "/piwik.js": "emc-compat.js",
}
SCRIPT_MAX_AGE_S = 3600
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}
#: A transparent 1×1 GIF (the same bytes as the collector's pixel).
_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


class CollectorParts(Protocol):
    """What these routes use of the collector (``ingest.app._Collector``)."""

    settings: Settings
    producer: Producer
    sites: SiteCache
    counters: Counters
    limits: Limits
    secret: bytes
    admin_token: str
    trusted: Any


@dataclass(frozen=True, slots=True)
class Script:
    body: bytes
    etag: str


def load_scripts(directory: Path = STATIC_DIR) -> dict[str, Script]:
    """The scripts by served path, read once at start."""
    out: dict[str, Script] = {}
    for path, name in SCRIPTS.items():
        body = (directory / name).read_bytes()
        out[path] = Script(body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
    return out


async def read_body(request: Request, limits: Limits) -> bytes:
    """The body, refused (413) as soon as it is known to exceed the limit: by Content-Length
    before reading and by counting while reading (the header may lie or be absent)."""
    check_content_length(request.headers.get("content-length"), limits)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise body_too_large(limits)
        chunks.append(chunk)
    return b"".join(chunks)


def _json(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status, _CORS, media_type="application/json")


def routes(parts: CollectorParts) -> list[Route]:
    """The script and Matomo routes."""
    scripts = load_scripts()

    async def script(request: Request) -> Response:
        found = scripts[request.scope["path"]]  # not request.url: a non-UTF-8 query breaks it
        headers = {
            **_CORS,
            "Cache-Control": f"public, max-age={SCRIPT_MAX_AGE_S}",
            "ETag": found.etag,
        }
        if request.headers.get("if-none-match") == found.etag:
            return Response(status_code=304, headers=headers)
        return Response(found.body, 200, headers, media_type="text/javascript; charset=utf-8")

    def build(translated: matomo.Translated, ip: str, ua: str, now_ms: int) -> Message:
        return build_beacon(
            translated.params,
            ip=translated.ip or ip,
            ua=translated.ua or ua,
            now_ms=now_ms,
            sites=parts.sites.sites,
            limits=parts.limits,
            secret=parts.secret,
            ts_ms=translated.ts_ms,
        )

    cached: list[matomo.SiteIndex] = []

    def index() -> matomo.SiteIndex:
        """The index of the current registry copy (rebuilt only after a refresh)."""
        current = matomo.SiteIndex.of(parts.sites.sites, cached[0] if cached else None)
        cached[:] = [current]
        return current

    async def known(lines: list[dict[str, str]]) -> None:
        """Refresh the site cache (rate-limited) when an idsite is unknown: a site registered
        a moment ago works at once."""
        missing = []
        numbers = index().by_matomo
        for q in lines:
            idsite = q.get("idsite", "").strip()
            if idsite.isdigit() and int(idsite) not in numbers:
                missing.append(f"matomo:{idsite}")  # never a site id: forces the refresh
            elif idsite and not idsite.isdigit():
                missing.append(idsite)
        if missing:
            await parts.sites.ensure(missing)

    def error(exc: RequestError) -> Response:
        parts.counters.reject(exc.reason)
        parts.counters.request(exc.status)
        return _json(exc.status, exc.body())

    async def track(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=_CORS)
        q = dict(request.query_params)
        try:
            body = await read_body(request, parts.limits) if request.method == "POST" else b""
        except RequestError as exc:
            return error(exc)
        peer = request.client.host if request.client else ""
        ip = client_ip(
            peer,
            request.headers.get("x-forwarded-for"),
            request.headers.get("x-real-ip"),
            parts.trusted,
        )
        ua = request.headers.get("user-agent", "")
        now_ms = int(time.time() * 1000)
        stripped = body.lstrip()
        try:
            if stripped.startswith(b"{"):
                try:
                    payload = orjson.loads(stripped)
                except orjson.JSONDecodeError as exc:
                    raise RequestError(
                        400, f"body is not valid JSON: {exc}", reason="malformed_body"
                    ) from None
                lines, token = matomo.bulk_requests(payload)
                return await bulk(lines, token or q.get("token_auth", ""), ip, ua, now_ms)
            if stripped:
                q.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            await known([q])
            message = build(matomo.translate(q, index(), parts.admin_token), ip, ua, now_ms)
            await parts.producer.send_batch(parts.settings.topics.hits_raw, [message])
        except RequestError as exc:
            return error(exc)
        except KafkaUnavailable:
            parts.counters.reject("kafka_unavailable")
            parts.counters.request(503)
            return Response(
                orjson.dumps({"error": "Kafka unavailable, nothing was accepted; retry later"}),
                503,
                {**_CORS, "Retry-After": str(parts.settings.retry_after_s)},
                media_type="application/json",
            )
        parts.counters.accept("hits")
        if q.get("send_image") == "0":
            parts.counters.request(204)
            return Response(status_code=204, headers=_CORS)
        parts.counters.request(200)
        return Response(_GIF, 200, {**_CORS, "Cache-Control": "no-store"}, media_type="image/gif")

    async def bulk(
        lines: list[dict[str, str]], token: str, ip: str, ua: str, now_ms: int
    ) -> Response:
        await known(lines)
        sites = index()
        messages: list[Message] = []
        invalid: list[dict[str, Any]] = []
        for number, q in enumerate(lines, start=1):
            try:
                translated = matomo.translate(q, sites, parts.admin_token, token)
                messages.append(build(translated, ip, ua, now_ms))
            except RequestError as exc:
                parts.counters.reject(exc.reason)
                invalid.append({"line": number, "error": exc.error, "reason": exc.reason})
        if messages:
            await parts.producer.send_batch(parts.settings.topics.hits_raw, messages)
        parts.counters.accept("hits", len(messages))
        status = 200 if messages or not invalid else 400
        parts.counters.request(status)
        return _json(
            status,
            {
                "status": "success" if status == 200 else "error",
                "tracked": len(messages),
                "invalid": len(invalid),
                "invalid_requests": invalid,
            },
        )

    handler: Callable[[Request], Awaitable[Response]] = track
    methods = ["GET", "POST", "OPTIONS"]
    return [
        *(Route(path, script, methods=["GET"]) for path in SCRIPTS),
        *(Route(path, handler, methods=methods) for path in matomo.PATHS),
    ]
