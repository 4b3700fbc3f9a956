"""The Matomo tracking protocol through the collector into the real Kafka broker: what the
collector acknowledges is on the raw hits topic, mapped to the registered site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.app import create_app
from ingest.producer import KafkaProducer
from ingest.sites import SiteCache
from schemas.hits import RawHit
from schemas.sites import Site, SiteType
from tests.integration.test_collector import _consume, _create_topics, _settings

pytestmark = pytest.mark.integration

SITE = Site(id="hn", name="Hà Nội", type=SiteType.PORTAL, domains=("hanoi.gov.vn",), matomo_id=7)


async def test_matomo_requests_land_on_the_hits_topic(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    import httpx

    settings = _settings(tmp_path, kafka_bootstrap, topic_prefix)
    await _create_topics(kafka_bootstrap, settings)
    producer = KafkaProducer.from_settings(settings)
    app = create_app(settings, producer=producer, sites=SiteCache.static([SITE]))
    async with app.router.lifespan_context(app):
        assert await producer.wait_connected(30)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
            ua = {"User-Agent": "Mozilla/5.0 Chrome/120"}
            single = await client.get(
                "/matomo.php",
                params={"idsite": "7", "rec": "1", "url": "https://hanoi.gov.vn/a",
                        "action_name": "A", "send_image": "0"},
                headers=ua,
            )  # fmt: skip
            assert single.status_code == 204, single.text
            bulk = {
                "requests": [
                    "?idsite=7&rec=1&url=https%3A%2F%2Fhanoi.gov.vn%2Fb&e_c=dvc&e_a=submit&e_n=1.001",
                    "?idsite=7&rec=1&url=https%3A%2F%2Fhanoi.gov.vn%2Fc&cdt=1741572000&cip=198.51.100.1",
                    "?idsite=8&rec=1&url=https%3A%2F%2Fhanoi.gov.vn%2Fd",
                ],
                "token_auth": "adm",
            }
            answer = await client.post("/tracking", content=orjson.dumps(bulk), headers=ua)
            assert answer.status_code == 200
            assert (answer.json()["tracked"], answer.json()["invalid"]) == (2, 1)
    records = await _consume(kafka_bootstrap, settings.topics.hits_raw, 3)
    # partitions are keyed by visitor: order across them is not defined, sort by page
    hits: list[Any] = sorted(
        (RawHit.model_validate_json(r.value) for r in records), key=lambda h: h.url
    )
    assert [(h.site, h.url.rsplit("/", 1)[1], h.type.value) for h in hits] == [
        ("hn", "a", "pageview"),
        ("hn", "b", "event"),
        ("hn", "c", "pageview"),
    ]
    assert hits[0].ip == "203.0.113.7" and hits[0].name == "A"
    assert hits[1].name == "dvc/submit/1.001"
    assert hits[2].ts == 1_741_572_000_000 and hits[2].ip == "198.51.100.1"
