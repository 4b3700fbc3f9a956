"""Message → row mapping of the sink (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from schemas.dossiers import DossierEvent, DossierStatus
from schemas.hits import EnrichedHit, HitType, SessionRow, SessionUpdate
from sink.rows import (
    COLUMNS,
    DOSSIER_COLUMNS,
    HIT_COLUMNS,
    SESSION_COLUMNS,
    BadMessage,
    Origin,
    SinkKind,
    decode,
)

T0 = 1_795_000_000_000  # 2026-11-18 (UTC)
ORIGIN = Origin("p.emc.pageviews", 3, 42)


def _hit(**changes: Any) -> EnrichedHit:
    base = EnrichedHit(
        event_id="e1", site="s1", ts=T0, local_ms=T0 + 7 * 3_600_000, received_ms=T0 + 5,
        type=HitType.PAGEVIEW, url="https://a.vn/x?q=1", host="a.vn", path="/x",
        visitor_id="v1", session_id="ses1", session_start_ms=T0, is_entry=True, country="VN",
        device="mobile", browser="Chrome", os="Android",
    )  # fmt: skip
    return base.model_copy(update=changes)


def _session(version: int, pageviews: int, end_ms: int) -> SessionRow:
    return SessionRow(
        session_id="ses1", site="s1", visitor_id="v1", start_ms=T0, start_local_ms=T0 + 1,
        end_ms=end_ms, version=version, hits=version, pageviews=pageviews, events=0,
        is_bounce=pageviews == 1, country="VN", device="mobile", browser="Chrome", os="Android",
    )  # fmt: skip


def _as_dict(columns: tuple[str, ...], row: list[Any]) -> dict[str, Any]:
    assert len(columns) == len(row)
    return dict(zip(columns, row, strict=True))


def test_a_pageview_becomes_a_pageviews_row_with_its_origin() -> None:
    pairs = decode(SinkKind.PAGEVIEWS, _hit().model_dump_json().encode(), ORIGIN)
    assert [t for t, _ in pairs] == ["pageviews"]
    row = _as_dict(HIT_COLUMNS, pairs[0][1])
    assert row["event_id"] == "e1"
    # DateTime64(3) columns get their raw ticks: epoch ms
    assert row["ts"] == T0
    assert (
        datetime.fromtimestamp(row["local_ts"] / 1000, tz=UTC).hour
        == (datetime.fromtimestamp(T0 / 1000, tz=UTC).hour + 7) % 24
    )
    assert row["type"] == "pageview"
    assert row["is_entry"] == 1
    assert row["is_bot"] == 0
    assert (row["_topic"], row["_partition"], row["_offset"]) == ("p.emc.pageviews", 3, 42)


def test_a_bot_hit_goes_to_bot_hits() -> None:
    value = _hit(is_bot=True, bot_reason="ua:curl").model_dump_json().encode()
    ((table, row),) = decode(SinkKind.PAGEVIEWS, value, ORIGIN)
    assert table == "bot_hits"
    assert _as_dict(HIT_COLUMNS, row)["bot_reason"] == "ua:curl"


def test_a_session_update_retracts_the_previous_snapshot_and_adds_the_current() -> None:
    update = SessionUpdate(prev=_session(1, 1, T0), cur=_session(2, 2, T0 + 60_000))
    pairs = decode(SinkKind.SESSIONS, update.model_dump_json().encode(), ORIGIN)
    assert [t for t, _ in pairs] == ["sessions", "sessions"]
    prev, cur = (_as_dict(SESSION_COLUMNS, r) for _, r in pairs)
    assert (prev["sign"], prev["version"], prev["pageviews"], prev["is_bounce"]) == (-1, 1, 1, 1)
    assert (cur["sign"], cur["version"], cur["pageviews"], cur["is_bounce"]) == (1, 2, 2, 0)
    assert prev["duration_ms"] == 0
    assert cur["duration_ms"] == 60_000


def test_a_first_session_snapshot_is_one_row() -> None:
    update = SessionUpdate(prev=None, cur=_session(1, 1, T0))
    pairs = decode(SinkKind.SESSIONS, update.model_dump_json().encode(), ORIGIN)
    assert len(pairs) == 1
    assert _as_dict(SESSION_COLUMNS, pairs[0][1])["sign"] == 1


def test_a_dossier_event_maps_unknowns_to_null() -> None:
    event = DossierEvent(
        event_id="d1", site="s1", dossier_code="H1", status=DossierStatus.RECEIVED, ts=T0,
        local_ms=T0 + 1, received_ms=T0 + 2, channel="online", received_at=T0, due_at=0,
    )  # fmt: skip
    ((table, row),) = decode(SinkKind.DOSSIERS, event.model_dump_json().encode(), ORIGIN)
    assert table == "dossier_events"
    d = _as_dict(DOSSIER_COLUMNS, row)
    assert d["status"] == "received"
    assert d["received_at"] == T0
    assert d["due_at"] is None
    assert d["fee_paid_online"] is None
    paid = event.model_copy(update={"fee_paid_online": 1}).model_dump_json().encode()
    assert (
        _as_dict(DOSSIER_COLUMNS, decode(SinkKind.DOSSIERS, paid, ORIGIN)[0][1])["fee_paid_online"]
        == 1
    )
    assert d["digitized"] is None  # unknown stays NULL, never "not digitised"
    for flag, stored in ((1, 1), (0, 0)):
        value = event.model_copy(update={"digitized": flag}).model_dump_json().encode()
        row = decode(SinkKind.DOSSIERS, value, ORIGIN)[0][1]
        assert _as_dict(DOSSIER_COLUMNS, row)["digitized"] == stored


def test_every_table_has_its_columns() -> None:
    assert set(COLUMNS) == {"pageviews", "bot_hits", "sessions", "dossier_events"}


@pytest.mark.parametrize(
    ("kind", "value", "reason", "field"),
    [
        (SinkKind.PAGEVIEWS, b"{not json", "invalid_json", "not JSON"),
        (SinkKind.PAGEVIEWS, None, "empty", "no value"),
        (SinkKind.PAGEVIEWS, b"[1, 2]", "validation", "(message)"),
        (SinkKind.PAGEVIEWS, b'{"event_id": "e"}', "validation", "site"),
        (
            SinkKind.SESSIONS,
            b'{"prev": null, "cur": {"session_id": "x"}}',
            "validation",
            "cur.site",
        ),
        (SinkKind.DOSSIERS, b'{"event_id": "d", "status": "lost"}', "validation", "status"),
    ],
)
def test_bad_messages_name_the_reason_and_field(
    kind: SinkKind, value: bytes | None, reason: str, field: str
) -> None:
    with pytest.raises(BadMessage) as info:
        decode(kind, value, ORIGIN)
    assert info.value.reason == reason
    assert field in info.value.detail


def test_times_clickhouse_cannot_store_are_refused_naming_the_field() -> None:
    data = orjson.loads(_hit().model_dump_json())
    data["local_ms"] = -5
    with pytest.raises(BadMessage) as info:
        decode(SinkKind.PAGEVIEWS, orjson.dumps(data), ORIGIN)
    assert info.value.reason == "out_of_range"
    assert info.value.detail.startswith("local_ms:")


def test_negative_counters_are_refused_naming_the_field() -> None:
    bad = _session(1, 1, T0).model_copy(update={"pageviews": -1})
    update = SessionUpdate(prev=None, cur=bad)
    with pytest.raises(BadMessage, match=r"cur\.pageviews"):
        decode(SinkKind.SESSIONS, update.model_dump_json().encode(), ORIGIN)
