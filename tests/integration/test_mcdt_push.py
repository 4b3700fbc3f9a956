"""``POST /TrackingMCDT`` against the real Kafka broker: an EMC sender's JSON and form pushes,
unchanged, are on ``emc.dossiers.raw`` after the 204; normalised and stored, they give the
dossier state the pushes describe (real chDB)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from clickhouse.client import Database
from core.settings import Settings
from ingest.app import create_app
from ingest.producer import KafkaProducer
from ingest.sites import SiteCache
from schemas.dossiers import RawDossierEvent
from schemas.sites import Site, SiteType
from sink.rows import DOSSIER_COLUMNS, Origin, dossier_row
from streams.dossiers import normalise
from tests.integration.test_collector import _consume, _create_topics, _settings

pytestmark = pytest.mark.integration

SITE = Site(id="mc-hn", name="Một cửa HN", type=SiteType.ONESTOP)


@contextlib.asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    producer = KafkaProducer.from_settings(settings)
    app = create_app(settings, producer=producer, sites=SiteCache.static([SITE]))
    async with app.router.lifespan_context(app):
        assert await producer.wait_connected(30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emc") as client:
            yield client


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


async def test_json_and_form_pushes_reach_kafka_and_give_the_dossier_state(
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    clickhouse_engine: Any,
    ch_database: str,
) -> None:
    settings = _settings(tmp_path, kafka_bootstrap, topic_prefix)
    await _create_topics(kafka_bootstrap, settings)
    received = {
        "MaHoSo": "HS-1",
        "SiteId": "mc-hn",
        "CodeTTHC": "1.004227",
        "NameTTHC": "Đăng ký khai sinh",
        "Status": 1,
        "FormsReception": 2,
        "FormsPayments": 0,
        "Level": 4,
        "IsFromDVCQG": False,
        "IsDVCBC": True,
        "Data": {"NgayTiepNhan": "2026-03-02 08:00:00", "NgayHenTra": "2026-03-04 17:00:00"},
        "User": "canbo01",
        "Digitized": True,  # issue 16: optional, only on this push
    }
    returned_form = {
        "MaHoSo": "HS-1",
        "SiteId": "mc-hn",
        "CodeTTHC": "1.004227",
        "Status": "3",
        "FormsReception": "2",
        "FormsPayments": "2",
        "IsFromDVCQG": "false",
        "IsDVCBC": "true",
        "Data": '{"NgayCoKetQua": "03/03/2026 10:00:00", "NgayTraKetQua": "03/03/2026 15:00:00"}',
        "User": "canbo02",
    }
    async with _client(settings) as client:
        first = await client.post("/TrackingMCDT", json=received)
        assert first.status_code == 204, first.text
        second = await client.post(
            "/TrackingMCDT",
            content=urlencode(returned_form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert second.status_code == 204, second.text
        again = await client.post("/TrackingMCDT", json=received)  # a sender's retry
        assert again.status_code == 204
        bad = await client.post("/TrackingMCDT", json={**received, "Status": 4})
        assert bad.status_code == 422 and bad.json()["field"] == "Status"

    records = await _consume(kafka_bootstrap, settings.topics.dossiers_raw, 3)
    assert len(records) == 3
    assert {r.key for r in records} == {b"mc-hn|HS-1"}
    assert len({r.partition for r in records}) == 1
    raws = [RawDossierEvent.model_validate(orjson.loads(r.value)) for r in records]
    assert [r.status.value for r in raws] == ["received", "returned", "received"]
    assert raws[0].event_id == raws[2].event_id != raws[1].event_id

    db = Database(clickhouse_engine, ch_database)
    rows = [
        dossier_row(normalise(raw), Origin(r.topic, r.partition, r.offset))
        for raw, r in zip(raws, records, strict=True)
    ]
    db.insert("dossier_events", rows, DOSSIER_COLUMNS)
    state = db.query(
        "SELECT status, procedure_code, channel, source, received_at, due_at, resolved_at, "
        "returned_at, on_time, processing_s, fee_paid_online FROM dossiers "
        "WHERE site = 'mc-hn' AND dossier_code = 'HS-1'"
    ).result_rows
    assert len(state) == 1
    status, procedure, channel, source, rec, due, res, ret, on_time, processing, fee = state[0]
    assert (status, procedure, channel, source) == ("returned", "1.004227", "online", "dvc_portal")
    assert rec.replace(tzinfo=None) == _utc("2026-03-02T08:00:00+07:00")
    assert due.replace(tzinfo=None) == _utc("2026-03-04T17:00:00+07:00")
    assert res.replace(tzinfo=None) == _utc("2026-03-03T10:00:00+07:00")
    assert ret.replace(tzinfo=None) == _utc("2026-03-03T15:00:00+07:00")
    assert on_time == 1
    assert processing == (31 * 3600)  # 02 Mar 08:00 → 03 Mar 15:00
    assert fee == 1
    # Digitized reached the raw table on the received event only; the returned one says nothing
    flags = db.query(
        "SELECT status, digitized FROM dossier_events FINAL "
        "WHERE site = 'mc-hn' AND dossier_code = 'HS-1' ORDER BY status"
    ).result_rows
    assert flags == [("received", 1), ("returned", None)]
