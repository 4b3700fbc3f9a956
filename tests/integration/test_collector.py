"""The collector against a real Kafka broker: what is acknowledged is on the topic, with the
right keys and values; a broker outage gives 503 + Retry-After, and the collector recovers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from broker.topics import ensure_topics
from core.settings import Settings
from ingest.app import create_app
from ingest.producer import KafkaProducer, KafkaUnavailable
from ingest.sites import SiteCache
from ingest.visitor import visitor_ids
from schemas.hits import RawHit
from schemas.sites import Site, SiteType
from schemas.topics import hit_key

pytestmark = pytest.mark.integration

SITE = Site(id="gov", name="Gov", type=SiteType.PORTAL, domains=("gov.vn",), ingest_token="tok")
ADMIN = {"Authorization": "Bearer adm", "Content-Type": "application/x-ndjson"}


async def _create_topics(bootstrap: str, settings: Settings) -> None:
    await ensure_topics(bootstrap, settings.topics.specs())


async def _consume(bootstrap: str, topic: str, count: int, timeout_s: float = 30) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(out) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                out.extend(records)
        # anything beyond ``count`` would be a bug too: read a little longer
        extra = await consumer.getmany(timeout_ms=500)
        for records in extra.values():
            out.extend(records)
    finally:
        await consumer.stop()
    return out


def _settings(tmp_path: Path, bootstrap: str, prefix: str, **over: Any) -> Settings:
    return Settings(
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        admin_token="adm",
        secret_key="sk",
        data_dir=tmp_path,
        **over,
    )


@contextlib.asynccontextmanager
async def _client(settings: Settings, producer: KafkaProducer) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, producer=producer, sites=SiteCache.static([SITE]))
    async with app.router.lifespan_context(app):
        assert await producer.wait_connected(30)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            yield client


def _line(**over: Any) -> bytes:
    base = {
        "site": "gov",
        "url": "https://gov.vn/a",
        "ts": "2026-03-01T08:00:00+07:00",
        "ip": "198.51.100.1",
        "ua": "Mozilla/5.0",
    }
    base.update(over)
    return orjson.dumps(base)


async def test_accepted_hits_are_on_the_topic(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, kafka_bootstrap, topic_prefix)
    await _create_topics(kafka_bootstrap, settings)
    producer = KafkaProducer.from_settings(settings)
    async with _client(settings, producer) as client:
        assert (await client.get("/readyz")).status_code == 200
        # 3 good + 2 bad lines → 3 on the topic
        body = b"\n".join(
            [
                _line(event_id="e1"),
                _line(ts="never"),
                _line(event_id="e2", ip="198.51.100.2"),
                _line(url="https://evil.example/"),
                _line(event_id="e3", visitor_id="u-9"),
            ]
        )
        response = await client.post("/v1/hits", content=body, headers=ADMIN)
        assert response.status_code == 202
        assert response.json()["accepted"] == 3
        assert [r["line"] for r in response.json()["rejected"]] == [2, 4]
        beacon = await client.post(
            "/collect",
            content=b'{"s":"gov","u":"https://gov.vn/b","t":"p"}',
            headers={"User-Agent": "Beacon-UA", "Content-Type": "text/plain"},
        )
        assert beacon.status_code == 202
        # a satisfaction rating (issue 16): stored under its canonical name; a score outside
        # 1-5 is refused naming the field, nothing reaches the topic
        rating = (
            b'{"s":"gov","u":"https://gov.vn/b","t":"e","n":"rating",'
            b'"p":{"score":%d,"procedure":"1.000123"}}'
        )
        headers = {"User-Agent": "Beacon-UA", "Content-Type": "text/plain"}
        assert (
            await client.post("/collect", content=rating % 4, headers=headers)
        ).status_code == 202
        refused = await client.post("/collect", content=rating % 9, headers=headers)
        assert refused.status_code == 422
        assert (refused.json()["field"], refused.json()["reason"]) == ("p.score", "invalid_rating")
        # a bulk batch goes through the per-partition record batches
        bulk = b"\n".join(
            _line(event_id=f"b{i}", ip=f"10.0.{i // 250}.{i % 250}") for i in range(500)
        )
        assert (await client.post("/v1/hits", content=bulk, headers=ADMIN)).json()[
            "accepted"
        ] == 500

    records = await _consume(kafka_bootstrap, settings.topics.hits_raw, 505)
    assert len(records) == 505
    by_id = {orjson.loads(r.value)["event_id"]: r for r in records}
    assert {"e1", "e2", "e3"} <= by_id.keys()
    first = RawHit.model_validate(orjson.loads(by_id["e1"].value))
    ids = visitor_ids(
        b"sk",
        site="gov",
        ip="198.51.100.1",
        ua="Mozilla/5.0",
        ts_ms=first.ts,
        tz="Asia/Ho_Chi_Minh",
    )
    assert by_id["e1"].key == hit_key("gov", ids.visitor_key)
    assert first.visitor_id == ids.visitor_id and first.ip == "198.51.100.1"
    assert orjson.loads(by_id["e3"].value)["explicit_visitor"] is True
    beacon_hits = [
        RawHit.model_validate(orjson.loads(r.value)) for r in records if b'"beacon"' in r.value
    ]
    assert sorted(h.name for h in beacon_hits) == ["", "rating:4:1.000123"]
    assert all(h.ip == "203.0.113.7" and h.ua == "Beacon-UA" for h in beacon_hits)
    # one key, one partition: the same visitor always lands together
    partitions: dict[bytes, set[int]] = {}
    for record in records:
        partitions.setdefault(record.key, set()).add(record.partition)
    assert all(len(p) == 1 for p in partitions.values())
    assert len({r.partition for r in records}) > 1


async def test_dossiers_on_the_topic(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, kafka_bootstrap, topic_prefix)
    await _create_topics(kafka_bootstrap, settings)
    producer = KafkaProducer.from_settings(settings)
    async with _client(settings, producer) as client:
        line = orjson.dumps(
            {
                "event_id": "d1",
                "site": "gov",
                "dossier_code": "HS-1",
                "status": "received",
                "ts": 1_772_326_800_000,
            }
        )
        response = await client.post(
            "/v1/dossiers",
            content=line,
            headers={"Authorization": "Bearer tok", "Content-Type": "application/x-ndjson"},
        )
        assert response.status_code == 202
    records = await _consume(kafka_bootstrap, settings.topics.dossiers_raw, 1)
    assert [r.key for r in records] == [b"gov|HS-1"]
    assert orjson.loads(records[0].value)["tz"] == "Asia/Ho_Chi_Minh"


async def test_broker_outage_503_then_recovery(
    local_kafka_factory: Any, topic_prefix: str, tmp_path: Path
) -> None:
    kafka = local_kafka_factory()
    settings = _settings(
        tmp_path, kafka.bootstrap, topic_prefix, produce_timeout_s=3.0, retry_after_s=4
    )
    producer = KafkaProducer.from_settings(settings)
    # the collector starts while Kafka is down, and answers 503 quickly
    await producer.start()
    with pytest.raises(KafkaUnavailable):
        await producer.send_batch(settings.topics.hits_raw, [(b"k", b"v")])
    assert not await producer.ready()
    await producer.stop()

    await asyncio.to_thread(kafka.start, 90)
    await _create_topics(kafka.bootstrap, settings)
    producer = KafkaProducer.from_settings(settings)
    async with _client(settings, producer) as client:
        assert (
            await client.post("/v1/hits", content=_line(event_id="before"), headers=ADMIN)
        ).status_code == 202

        await asyncio.to_thread(kafka.stop)
        started = time.monotonic()
        response = await client.post("/v1/hits", content=_line(event_id="during"), headers=ADMIN)
        elapsed_s = time.monotonic() - started
        assert response.status_code == 503
        assert response.headers["retry-after"] == "4"
        assert response.json()["reason"] == "kafka_unavailable"
        assert elapsed_s < 10  # bounded by EMC_PRODUCE_TIMEOUT_S, not hanging
        assert (await client.get("/readyz")).status_code == 503

        await asyncio.to_thread(kafka.start, 90)
        status = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response = await client.post("/v1/hits", content=_line(event_id="after"), headers=ADMIN)
            status = response.status_code
            if status == 202:
                break
            assert status == 503
            await asyncio.sleep(0.5)
        assert status == 202
        assert (await client.get("/readyz")).status_code == 200
    records = await _consume(kafka.bootstrap, settings.topics.hits_raw, 2)
    ids = [orjson.loads(r.value)["event_id"] for r in records]
    assert "before" in ids and "after" in ids
