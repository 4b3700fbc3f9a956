"""The collector's HTTP layer with a fake producer and a static site cache (no sockets)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from core.settings import Settings
from ingest.app import PIXEL_GIF, create_app
from ingest.producer import KafkaUnavailable
from ingest.sites import SiteCache
from schemas.sites import Site, SiteType

ADMIN = {"Authorization": "Bearer adm"}
NDJSON = {"Content-Type": "application/x-ndjson"}


class FakeProducer:
    """Records what would go to Kafka; ``down`` makes every send fail like a dead broker."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[tuple[bytes, bytes]]]] = []
        self.down = False
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def send_batch(self, topic: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        if self.down:
            raise KafkaUnavailable("broker down")
        self.sent.append((topic, list(items)))

    async def ready(self) -> bool:
        return not self.down

    def messages(self) -> list[dict[str, Any]]:
        return [orjson.loads(v) for _, items in self.sent for _, v in items]


@pytest.fixture()
def producer() -> FakeProducer:
    return FakeProducer()


@pytest.fixture()
def client(producer: FakeProducer, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        admin_token="adm",
        secret_key="sk",
        data_dir=tmp_path,
        topic_prefix="p.",
        max_body_bytes=2048,
        max_batch_lines=3,
        max_field_chars=200,
        retry_after_s=7,
    )
    sites = SiteCache.static(
        [
            Site(
                id="a", name="A", type=SiteType.PORTAL, domains=("a.gov.vn",), ingest_token="tok-a"
            ),
            Site(id="b", name="B", type=SiteType.ONESTOP, ingest_token="tok-b"),
        ]
    )
    with TestClient(create_app(settings, producer=producer, sites=sites)) as test_client:
        yield test_client


def _line(**over: Any) -> bytes:
    base = {
        "site": "a",
        "url": "https://a.gov.vn/",
        "ts": 1_772_326_800_000,
        "ip": "1.2.3.4",
        "ua": "UA",
    }
    base.update(over)
    return orjson.dumps(base)


def test_lifespan_starts_producer(client: TestClient, producer: FakeProducer) -> None:
    assert producer.started


def test_beacon_post_202_empty_with_cors(client: TestClient, producer: FakeProducer) -> None:
    response = client.post(
        "/collect",
        content=b'{"s":"a","u":"https://a.gov.vn/p"}',
        headers={"Content-Type": "text/plain;charset=UTF-8", "User-Agent": "Firefox"},
    )
    assert response.status_code == 202
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == "*"
    assert producer.sent[0][0] == "p.emc.hits.raw"
    hit = producer.messages()[0]
    assert hit["ua"] == "Firefox" and hit["ip"] == "testclient" and hit["source"] == "beacon"


def test_beacon_preflight(client: TestClient) -> None:
    response = client.options(
        "/collect",
        headers={"Origin": "https://a.gov.vn", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]


def test_pixel_gif_and_invalid_pixel(client: TestClient, producer: FakeProducer) -> None:
    response = client.get("/collect", params={"s": "a", "u": "https://a.gov.vn/x"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.content == PIXEL_GIF
    bad = client.get("/collect", params={"s": "a", "u": "https://evil.example/"})
    assert bad.status_code == 422
    assert bad.json()["reason"] == "foreign_domain" and bad.json()["field"] == "url"
    assert len(producer.sent) == 1


def test_beacon_unsupported_type_and_malformed(client: TestClient) -> None:
    assert (
        client.post("/collect", content=b"{}", headers={"Content-Type": "image/png"}).status_code
        == 415
    )
    assert (
        client.post("/collect", content=b"{", headers={"Content-Type": "text/plain"}).status_code
        == 400
    )


def test_hits_batch_partial_accept(client: TestClient, producer: FakeProducer) -> None:
    body = b"\n".join([_line(), _line(ts="soon"), _line(url="https://a.gov.vn/2")])
    response = client.post("/v1/hits", content=body, headers={**ADMIN, **NDJSON})
    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    assert response.json()["rejected"][0]["line"] == 2
    assert response.json()["rejected"][0]["field"] == "ts"
    assert len(producer.messages()) == 2


def test_hits_all_invalid_is_422(client: TestClient, producer: FakeProducer) -> None:
    response = client.post("/v1/hits", content=_line(site="nope"), headers={**ADMIN, **NDJSON})
    assert response.status_code == 422
    assert response.json()["rejected"][0]["reason"] == "unknown_site"
    assert producer.sent == []
    stats = client.get("/stats").json()
    assert stats["rejected"]["unknown_site"] == 1


def test_hits_json_array(client: TestClient, producer: FakeProducer) -> None:
    body = b"[" + _line() + b"," + _line() + b"]"
    response = client.post(
        "/v1/hits", content=body, headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert response.status_code == 202 and response.json() == {"accepted": 2, "rejected": []}


def test_auth(client: TestClient) -> None:
    assert client.post("/v1/hits", content=_line(), headers=NDJSON).status_code == 401
    bad = client.post("/v1/hits", content=_line(), headers={**NDJSON, "Authorization": "Bearer x"})
    assert bad.status_code == 401
    own = client.post(
        "/v1/hits", content=_line(), headers={**NDJSON, "Authorization": "Bearer tok-a"}
    )
    assert own.status_code == 202
    other = client.post(
        "/v1/hits", content=_line(), headers={**NDJSON, "Authorization": "Bearer tok-b"}
    )
    assert other.status_code == 403
    assert other.json()["rejected"][0]["reason"] == "forbidden_site"


def test_limits(client: TestClient) -> None:
    too_many = client.post(
        "/v1/hits", content=b"\n".join([_line()] * 4), headers={**ADMIN, **NDJSON}
    )
    assert too_many.status_code == 413
    assert "EMC_MAX_BATCH_LINES=3" in too_many.json()["error"]
    too_big = client.post("/v1/hits", content=b" " * 3000, headers={**ADMIN, **NDJSON})
    assert too_big.status_code == 413
    assert "EMC_MAX_BODY_BYTES" in too_big.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        for _ in range(5):
            yield b" " * 1000

    streamed = client.post("/v1/hits", content=chunks(), headers={**ADMIN, **NDJSON})
    assert streamed.status_code == 413
    long_field = client.post("/v1/hits", content=_line(ua="u" * 201), headers={**ADMIN, **NDJSON})
    assert long_field.status_code == 422
    assert long_field.json()["rejected"][0]["field"] == "ua"
    assert (
        client.post(
            "/v1/hits", content=_line(), headers={**ADMIN, "Content-Type": "text/csv"}
        ).status_code
        == 415
    )
    assert (
        client.post(
            "/v1/hits", content=b"[", headers={**ADMIN, "Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_dossiers(client: TestClient, producer: FakeProducer) -> None:
    line = orjson.dumps(
        {
            "event_id": "e",
            "site": "b",
            "dossier_code": "HS",
            "status": "received",
            "ts": 1_772_326_800_000,
        }
    )
    response = client.post(
        "/v1/dossiers", content=line, headers={**NDJSON, "Authorization": "Bearer tok-b"}
    )
    assert response.status_code == 202
    assert producer.sent[-1][0] == "p.emc.dossiers.raw"
    assert producer.sent[-1][1][0][0] == b"b|HS"


def test_kafka_down_503_retry_after(client: TestClient, producer: FakeProducer) -> None:
    producer.down = True
    response = client.post("/v1/hits", content=_line(), headers={**ADMIN, **NDJSON})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json()["reason"] == "kafka_unavailable"
    beacon = client.post("/collect", content=b'{"s":"a","u":"https://a.gov.vn/"}')
    assert beacon.status_code == 503 and beacon.headers["retry-after"] == "7"
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200
    producer.down = False
    assert client.get("/readyz").status_code == 200
    assert client.post("/v1/hits", content=_line(), headers={**ADMIN, **NDJSON}).status_code == 202
    stats = client.get("/stats").json()
    assert stats["rejected"]["kafka_unavailable"] == 2
    assert stats["accepted"]["hits"] == 1


async def test_beacon_behind_trusted_proxy_joins_repeated_forwarded_for(tmp_path: Path) -> None:
    """Repeated X-Forwarded-For lines form one list (neither the first nor the last line alone
    gives the right answer); the right-most untrusted entry is the client."""
    producer = FakeProducer()
    settings = Settings(
        admin_token="adm", secret_key="sk", data_dir=tmp_path, trusted_proxies="10.0.0.0/8"
    )
    sites = SiteCache.static([Site(id="a", name="A", type=SiteType.PORTAL, domains=("a.gov.vn",))])
    app = create_app(settings, producer=producer, sites=sites)
    transport = httpx.ASGITransport(app=app, client=("10.0.0.5", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as http:
        response = await http.post(
            "/collect",
            content=b'{"s":"a","u":"https://a.gov.vn/x"}',
            headers=[
                ("Content-Type", "text/plain;charset=UTF-8"),
                ("User-Agent", "UA-1"),
                ("X-Forwarded-For", "6.6.6.6"),
                ("X-Forwarded-For", "198.51.100.7"),
                ("X-Forwarded-For", "10.0.0.2"),
            ],
        )
    assert response.status_code == 202
    [hit] = producer.messages()
    assert hit["ip"] == "198.51.100.7" and hit["ua"] == "UA-1"


# ------------------------------------------------------ sites registered a moment ago (issue 12)


def _loading_app(
    tmp_path: Path, registry: list[dict[str, Any]], producer: FakeProducer, **clock: Any
) -> Any:
    """The collector with a site cache that loads ``registry`` (a mutable list) as the
    warehouse would, on the real clock and the default wait unless ``clock``/``sleep`` say."""
    settings = Settings(admin_token="adm", secret_key="sk", data_dir=tmp_path, api_url="http://wh")
    warehouse = httpx.MockTransport(lambda request: httpx.Response(200, json=list(registry)))
    client = httpx.AsyncClient(base_url="http://wh", transport=warehouse)
    cache = SiteCache(settings, client=client, **clock)
    return create_app(settings, producer=producer, sites=cache), cache


def _site(site_id: str, token: str = "") -> dict[str, Any]:
    return {"id": site_id, "name": site_id, "type": "portal", "domains": ["a.gov.vn"],
            "ingest_token": token}  # fmt: skip


def test_the_first_hits_of_a_site_registered_a_moment_ago_are_accepted(
    tmp_path: Path, producer: FakeProducer
) -> None:
    import time

    from ingest.sites import MAX_UNKNOWN_WAIT_S

    registry = [_site("a")]
    app, cache = _loading_app(tmp_path, registry, producer)
    with TestClient(app) as client:  # the start loads the registry
        assert set(cache.sites) == {"a"}
        registry.append(_site("new", token="tok-new"))  # `emc sites add`, then at once:
        started = time.monotonic()
        hit = client.post("/v1/hits", content=_line(site="new"), headers={**ADMIN, **NDJSON})
        assert hit.status_code == 202, hit.text
        assert time.monotonic() - started <= MAX_UNKNOWN_WAIT_S + 0.5
        beacon = client.post(
            "/collect", content=b'{"s":"new","u":"https://a.gov.vn/"}',
            headers={"Content-Type": "text/plain"},
        )  # fmt: skip
        assert beacon.status_code == 202
        registry.append(_site("newer", token="tok-newer"))
        own = client.post(
            "/v1/hits",
            content=_line(site="newer"),
            headers={"Authorization": "Bearer tok-newer", **NDJSON},
        )
        assert own.status_code == 202, own.text  # its ingest token, unknown a moment ago
    assert [m["site"] for m in producer.messages()] == ["new", "new", "newer"]


def test_a_truly_unknown_site_is_refused_within_the_bound(
    tmp_path: Path, producer: FakeProducer
) -> None:
    import time

    from ingest.sites import MAX_UNKNOWN_WAIT_S

    app, cache = _loading_app(tmp_path, [_site("a")], producer)
    with TestClient(app) as client:
        loads = cache.loads
        started = time.monotonic()
        refused = client.post("/v1/hits", content=_line(site="nope"), headers={**ADMIN, **NDJSON})
        assert time.monotonic() - started <= MAX_UNKNOWN_WAIT_S + 0.5
        assert refused.status_code == 422
        assert refused.json()["rejected"][0]["reason"] == "unknown_site"
        assert cache.loads == loads + 1  # it waited for one fresh load, no more
    assert producer.sent == []


def test_site_ready_route(tmp_path: Path, producer: FakeProducer) -> None:
    from tests.unit.ingest.test_sites import FakeTime

    fake = FakeTime()
    registry = [_site("a")]
    app, cache = _loading_app(tmp_path, registry, producer, clock=fake.clock, sleep=fake.sleep)
    with TestClient(app) as client:
        assert client.get("/sites/a/ready").status_code == 401
        assert (
            client.get("/sites/a/ready", headers={"Authorization": "Bearer x"}).status_code == 401
        )
        fake.now += 0.1  # time passes between the requests
        assert client.get("/sites/a/ready", headers=ADMIN).json() == {"site": "a", "ready": True}
        registry.append(_site("b"))
        fake.now += 0.1
        assert client.get("/sites/b/ready", headers=ADMIN).status_code == 200
        fake.now += 0.1
        missing = client.get("/sites/zz/ready", headers=ADMIN)
        assert missing.status_code == 404
        assert missing.json()["ready"] is False and "zz" in missing.json()["error"]
        assert cache.loads == 4  # the start, and one fresh load per question
        assert len(fake.sleeps) == 3  # each waited for the rate limit
