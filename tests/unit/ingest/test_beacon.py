"""``POST /collect`` on the thin ASGI path answers exactly as the Starlette route does: same
status, headers and body for accepted and refused beacons and a down broker, the same message
to Kafka, the same counters and HTTP metrics (in-process, fake producer, no sockets)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from core import metrics
from core.settings import Settings
from ingest.answers import CORS
from ingest.app import CollectorApp, create_app
from ingest.beacon import ACCEPTED_HEADERS, is_beacon_post
from ingest.sites import SiteCache
from schemas.sites import Site, SiteType
from tests.unit.ingest.test_app import FakeProducer

SITE = Site(id="a", name="A", type=SiteType.PORTAL, domains=("a.gov.vn",))
TEXT = (b"content-type", b"text/plain;charset=UTF-8")
UA = (b"user-agent", b"Firefox/140")
#: (headers, body chunks) of beacons the two paths must answer alike
CASES: list[tuple[list[tuple[bytes, bytes]], list[bytes]]] = [
    ([TEXT, UA], [b'{"s":"a","u":"https://a.gov.vn/p","t":"p","w":1280}']),
    ([TEXT, UA], [b'{"s":"a",', b'"u":"https://a.gov.vn/two-chunks"}']),
    ([UA], [b'{"site":"a","url":"https://a.gov.vn/long-names","type":"event","name":"x"}']),
    ([TEXT, UA, (b"x-forwarded-for", b"1.2.3.4")], [b'{"s":"a","u":"https://a.gov.vn/"}']),
    ([TEXT], [b'{"s":"a","u":"https://evil.example/"}']),  # 422 foreign_domain
    ([TEXT], [b'{"s":"zz","u":"https://a.gov.vn/"}']),  # 422 unknown_site
    ([TEXT], [b'{"s":"a","u":"https://a.gov.vn/","w":-1}']),  # 422 invalid_field
    ([TEXT], [b'{"s":"a","u":"https://a.gov.vn/' + b"x" * 300 + b'"}']),  # 422 too long
    ([TEXT], [b"{"]),  # 400
    ([TEXT], [b"[1]"]),  # 400
    ([(b"content-type", b"image/png")], [b"{}"]),  # 415
    ([TEXT, (b"content-length", b"99999")], [b"{}"]),  # 413 announced
    ([TEXT], [b"x" * 3000]),  # 413 counted
    ([TEXT, (b"content-length", b"abc")], [b"{}"]),  # 400
]


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        admin_token="adm",
        secret_key="sk",
        data_dir=tmp_path,
        max_body_bytes=2048,
        max_field_chars=200,
        retry_after_s=7,
    )


async def _call(
    app: Any, method: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/collect",
        "raw_path": b"/collect",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("203.0.113.5", 1234),
        "server": ("collector", 80),
    }
    incoming = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], [tuple(h) for h in start["headers"]], body


def _without_ids(producer: FakeProducer) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in m.items() if k not in ("event_id", "received_ms", "ts")}
        for m in producer.messages()
    ]


def test_accepted_headers_are_starlettes() -> None:
    assert Response(status_code=202, headers=CORS).raw_headers == ACCEPTED_HEADERS


def test_only_post_collect_takes_the_fast_path() -> None:
    base = {"type": "http", "path": "/collect", "method": "POST"}
    assert is_beacon_post(base)
    assert not is_beacon_post({**base, "method": "GET"})
    assert not is_beacon_post({**base, "path": "/collect/"})
    assert not is_beacon_post({**base, "path": "/v1/hits"})
    assert not is_beacon_post({"type": "lifespan"})


@pytest.mark.parametrize("down", [False, True])
def test_fast_path_answers_like_the_starlette_route(tmp_path: Path, down: bool) -> None:
    fast_producer, slow_producer = FakeProducer(), FakeProducer()
    fast_producer.down = slow_producer.down = down
    fast = create_app(_settings(tmp_path), producer=fast_producer, sites=SiteCache.static([SITE]))
    reference = create_app(
        _settings(tmp_path), producer=slow_producer, sites=SiteCache.static([SITE])
    )
    assert isinstance(reference, CollectorApp)
    # the same handler behind Starlette's router, middleware and request/response objects
    starlette_route = Starlette(
        routes=[Route("/collect", reference.beacon.collect, methods=["POST"])]
    )

    async def run() -> None:
        for headers, chunks in CASES:
            got = await _call(fast, "POST", headers, chunks)
            want = await _call(starlette_route, "POST", headers, chunks)
            assert got == want, (headers, chunks)

    asyncio.run(run())
    assert _without_ids(fast_producer) == _without_ids(slow_producer)
    assert len(fast_producer.sent) == (0 if down else 4)
    fast_stats = fast.state.counters.snapshot()
    assert fast_stats == reference.state.counters.snapshot()
    if down:
        assert fast_stats["rejected"]["kafka_unavailable"] == 4
    else:
        assert fast_stats["accepted"]["hits"] == 4


def test_fast_path_is_counted_in_the_http_metrics(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path), producer=FakeProducer(), sites=SiteCache.static([SITE]))

    async def run() -> None:
        for headers, chunks in CASES[:2] + CASES[4:5]:
            await _call(app, "POST", headers, chunks)

    asyncio.run(run())
    # tallied on the hot path, in the registry once flushed (every Tally.FLUSH_S, and before
    # /stats and /metrics answer)
    body = metrics.render(app.state.metrics_registry)[0].decode()
    assert 'emc_http_requests_total{endpoint="/collect",status="202"} 0.0' in body
    app.state.counters.flush()
    body = metrics.render(app.state.metrics_registry)[0].decode()
    assert 'emc_http_requests_total{endpoint="/collect",status="202"} 2.0' in body
    assert 'emc_http_requests_total{endpoint="/collect",status="422"} 1.0' in body
    assert 'emc_http_request_duration_seconds_count{endpoint="/collect"} 3.0' in body
    assert orjson.loads(orjson.dumps(app.state.counters.snapshot()))["accepted"]["hits"] == 2
