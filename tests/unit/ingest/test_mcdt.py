"""``POST /TrackingMCDT``: the EMC push mapped onto native dossier events (pure mapping and the
HTTP layer with a fake producer; the real broker is in tests/integration/test_collector.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from starlette.testclient import TestClient

from core.settings import Settings
from ingest.app import create_app
from ingest.mcdt import build_messages, parse_body, to_event
from ingest.requests import Grant, Limits, RequestError
from ingest.sites import SiteCache
from schemas.dossiers import RawDossierEvent
from schemas.sites import Site, SiteType
from tests.unit.ingest.test_app import FakeProducer

SITES = {
    "mc-hn": Site(id="mc-hn", name="Một cửa HN", type=SiteType.ONESTOP, ingest_token="tok-hn"),
    "mc-hcm": Site(id="mc-hcm", name="Một cửa HCM", type=SiteType.ONESTOP),
}
NOW = 1_772_326_800_000  # 2026-03-01T01:00:00Z
LIMITS = Limits()

#: What an EMC sender posts today (field names and value shapes as they send them).
PUSH = {
    "MaHoSo": "000.00.01.H26-260301-0001",
    "CodeProfile": "HS-7781",
    "SiteId": "mc-hn",
    "CodeTTHC": "1.004227",
    "NameTTHC": "Đăng ký khai sinh",
    "Status": 1,
    "FormsReception": 2,
    "FormsPayments": 2,
    "Level": 4,
    "IsFromDVCQG": True,
    "IsDVCBC": False,
    "Data": '{"NgayTiepNhan": "2026-03-01 08:30:00", "NgayHenTra": "05/03/2026 17:00:00"}',
    "User": "canbo01",
}


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _event(**over: Any) -> RawDossierEvent:
    return to_event({**PUSH, **over}, SITES, None, NOW, LIMITS)


def test_a_full_push_maps_onto_a_received_event() -> None:
    event = _event()
    assert event.site == "mc-hn"
    assert event.dossier_code == "000.00.01.H26-260301-0001"
    assert event.procedure_code == "1.004227" and event.procedure_name == "Đăng ký khai sinh"
    assert event.status.value == "received"
    assert event.channel is not None and event.channel.value == "online"
    assert event.source is not None and event.source.value == "national_portal"
    assert event.fee_paid_online is True
    # zone-less times in Data are the site's local time (UTC+7)
    assert event.received_at == _ms("2026-03-01T08:30:00+07:00")
    assert event.due_at == _ms("2026-03-05T17:00:00+07:00")
    assert event.ts == event.received_at  # the event time of "received" is NgayTiepNhan
    assert event.received_ms == NOW and event.tz == "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize(
    ("status", "native"), [(0, "processing"), (1, "received"), (2, "processing"), (3, "returned")]
)
def test_push_statuses(status: int, native: str) -> None:
    assert _event(Status=status).status.value == native
    assert _event(Status=str(status)).status.value == native


def test_without_a_time_for_the_status_the_event_time_is_the_receipt_time() -> None:
    assert _event(Status=2).ts == NOW
    assert _event(Data=None).ts == NOW


@pytest.mark.parametrize(
    ("reception", "channel"), [(1, "direct"), ("2", "online"), (3, "postal"), ("online", "online")]
)
def test_reception_forms(reception: Any, channel: str) -> None:
    event = _event(FormsReception=reception)
    assert event.channel is not None and event.channel.value == channel


@pytest.mark.parametrize(("flags", "source"), [
    ({"IsFromDVCQG": 1, "IsDVCBC": 0}, "national_portal"),
    ({"IsFromDVCQG": "false", "IsDVCBC": "true"}, "dvc_portal"),
    ({"IsFromDVCQG": 0, "IsDVCBC": 0}, "other"),
])  # fmt: skip
def test_source_flags(flags: dict[str, Any], source: str) -> None:
    event = _event(**flags)
    assert event.source is not None and event.source.value == source


def test_a_direct_dossier_has_no_online_source_and_payments_map() -> None:
    event = _event(FormsReception=1, IsFromDVCQG=0, FormsPayments=1)
    assert event.source is None and event.fee_paid_online is False
    assert _event(FormsPayments=0).fee_paid_online is None
    assert _event(FormsPayments=None).fee_paid_online is None


def test_code_profile_stands_in_for_an_empty_dossier_code() -> None:
    assert _event(MaHoSo="").dossier_code == "HS-7781"


def test_field_names_in_any_case_and_unknown_fields_are_accepted() -> None:
    lower = {k[0].lower() + k[1:]: v for k, v in PUSH.items()}
    lower["SomethingNew"] = "x"
    event = to_event(lower, SITES, None, NOW, LIMITS)
    assert event.dossier_code == PUSH["MaHoSo"] and event.status.value == "received"


def test_the_same_push_twice_is_one_event_and_a_different_status_another() -> None:
    first, again = _event(), to_event(dict(PUSH), SITES, None, NOW + 60_000, LIMITS)
    assert first.event_id == again.event_id
    assert _event(Status=2).event_id != first.event_id
    assert _event(User="someone-else").event_id == first.event_id


@pytest.mark.parametrize(("over", "field", "status"), [
    ({"SiteId": ""}, "SiteId", 422),
    ({"SiteId": "nope"}, "SiteId", 422),
    ({"MaHoSo": "", "CodeProfile": ""}, "MaHoSo", 422),
    ({"Status": None}, "Status", 422),
    ({"Status": 7}, "Status", 422),
    ({"Status": "x"}, "Status", 422),
    ({"FormsReception": 9}, "FormsReception", 422),
    ({"FormsPayments": 5}, "FormsPayments", 422),
    ({"Level": 7}, "Level", 422),
    ({"IsFromDVCQG": "maybe"}, "IsFromDVCQG", 422),
    ({"Data": {"NgayHenTra": "tomorrow"}}, "Data.NgayHenTra", 422),
    ({"Data": {"admin_level": "galaxy"}}, "Data.admin_level", 422),
    ({"NameTTHC": "x" * 600}, "NameTTHC", 422),
])  # fmt: skip
def test_bad_fields_are_named(over: dict[str, Any], field: str, status: int) -> None:
    with pytest.raises(RequestError) as info:
        _event(**over)
    assert info.value.status == status
    assert info.value.field == field
    assert info.value.error.startswith(f"{field}:")


def test_a_token_for_another_site_is_refused_with_403() -> None:
    with pytest.raises(RequestError) as info:
        to_event(PUSH, SITES, Grant(all_sites=False, sites=frozenset({"mc-hcm"})), NOW, LIMITS)
    assert info.value.status == 403 and info.value.field == "SiteId"


def test_parse_body_json_object_array_and_form() -> None:
    assert parse_body(orjson.dumps(PUSH), "application/json") == [PUSH]
    assert parse_body(orjson.dumps([PUSH, PUSH]), "application/json; charset=utf-8") == [
        PUSH,
        PUSH,
    ]
    form = parse_body(
        urlencode({"MaHoSo": "A", "Status": "1"}).encode(), "application/x-www-form-urlencoded"
    )
    assert form == [{"MaHoSo": "A", "Status": "1"}]
    for body, ctype, status in [
        (b"<xml/>", "application/xml", 415),
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"   ", "application/json", 400),
    ]:
        with pytest.raises(RequestError) as info:
            parse_body(body, ctype)
        assert info.value.status == status, body


def test_a_batch_names_the_bad_item_and_is_refused_whole() -> None:
    with pytest.raises(RequestError) as info:
        build_messages(
            [PUSH, {**PUSH, "Status": 9}], sites=SITES, grant=None, now_ms=NOW, limits=LIMITS
        )
    assert info.value.error.startswith("[1].Status:")
    messages = build_messages([PUSH], sites=SITES, grant=None, now_ms=NOW, limits=LIMITS)
    assert [key for key, _ in messages] == [b"mc-hn|000.00.01.H26-260301-0001"]
    assert RawDossierEvent.model_validate(orjson.loads(messages[0][1])) == _event()


# --------------------------------------------------------------------------- HTTP layer


@pytest.fixture()
def producer() -> FakeProducer:
    return FakeProducer()


def _client(producer: FakeProducer, tmp_path: Path, **settings: Any) -> TestClient:
    config = Settings(admin_token="adm", data_dir=tmp_path, topic_prefix="p.", **settings)
    sites = SiteCache.static(list(SITES.values()))
    return TestClient(create_app(config, producer=producer, sites=sites))


@pytest.fixture()
def client(producer: FakeProducer, tmp_path: Path) -> Iterator[TestClient]:
    with _client(producer, tmp_path) as test_client:
        yield test_client


def test_json_form_and_multipart_pushes_answer_204(
    client: TestClient, producer: FakeProducer
) -> None:
    form = {k: str(v) for k, v in PUSH.items()}
    assert client.post("/TrackingMCDT", json=PUSH).status_code == 204
    assert client.post("/TrackingMCDT", data=form).status_code == 204
    assert client.post("/TrackingMCDT", data=form, files={"x": ("a.txt", b"-")}).status_code == 204
    events = [RawDossierEvent.model_validate(m) for m in producer.messages()]
    assert len(events) == 3
    assert {e.event_id for e in events[1:]} == {events[1].event_id}  # form = multipart
    assert all(e.status.value == "received" and e.due_at for e in events)
    assert {topic for topic, _ in producer.sent} == {"p.emc.dossiers.raw"}


def test_http_errors(client: TestClient, producer: FakeProducer) -> None:
    bad = client.post("/TrackingMCDT", json={**PUSH, "Status": 5})
    assert bad.status_code == 422 and bad.json()["field"] == "Status"
    assert bad.json()["error"].startswith("Status:")
    assert (
        client.post(
            "/TrackingMCDT", content=b"<x/>", headers={"Content-Type": "text/xml"}
        ).status_code
        == 415
    )
    assert (
        client.post(
            "/TrackingMCDT", json=PUSH, headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    forbidden = client.post(
        "/TrackingMCDT",
        json={**PUSH, "SiteId": "mc-hcm"},
        headers={"Authorization": "Bearer tok-hn"},
    )
    assert forbidden.status_code == 403
    assert producer.sent == []
    producer.down = True
    down = client.post("/TrackingMCDT", json=PUSH)
    assert down.status_code == 503 and down.headers["Retry-After"]


def test_a_token_can_be_required(producer: FakeProducer, tmp_path: Path) -> None:
    with _client(producer, tmp_path, mcdt_require_token=True) as client:
        assert client.post("/TrackingMCDT", json=PUSH).status_code == 401
        ok = client.post("/TrackingMCDT", json=PUSH, headers={"Authorization": "Bearer tok-hn"})
        assert ok.status_code == 204
    assert len(producer.messages()) == 1
    # the fake producer saw the real message
    assert datetime.fromtimestamp(producer.messages()[0]["ts"] / 1000, UTC).hour == 1


@pytest.mark.parametrize(
    ("value", "digitized"), [(True, True), ("1", True), ("false", False), (0, False), ("", None)]
)
def test_digitized_flag_is_optional(value: Any, digitized: bool | None) -> None:
    """Issue 16: the optional ``Digitized`` flag (Decision 766 "số hóa hồ sơ"); empty or
    absent = unknown, never "not digitised"."""
    assert _event(Digitized=value).digitized is digitized
    assert _event().digitized is None
    assert _event(digitized=value).digitized is digitized  # field names in any case


def test_a_bad_digitized_flag_is_422_naming_it() -> None:
    with pytest.raises(RequestError) as info:
        _event(Digitized="maybe")
    assert info.value.status == 422 and info.value.field == "Digitized"
