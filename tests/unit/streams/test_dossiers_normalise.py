"""Dossier normalisation: local time in the event's timezone, unknowns as the model says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.dossiers import DossierStatus, RawDossierEvent
from streams.dossiers import normalise
from streams.enrich.localtime import UnknownTimezone


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def raw(**changes: Any) -> RawDossierEvent:
    base: dict[str, Any] = {
        "event_id": "d-1",
        "site": "mc1",
        "dossier_code": "H26-0001",
        "status": "received",
        "ts": "2026-11-20T23:30:00+07:00",
        "tz": "Asia/Ho_Chi_Minh",
        "received_ms": _ms("2026-11-20T16:30:05+00:00"),
    }
    return RawDossierEvent.model_validate({**base, **changes})


def test_unknown_optional_values_become_empty_zero_and_minus_one() -> None:
    event = normalise(raw())
    assert (event.channel, event.source, event.submitted_by, event.admin_level) == ("", "", "", "")
    assert (event.submitted_at, event.received_at, event.due_at) == (0, 0, 0)
    assert (event.resolved_at, event.returned_at) == (0, 0)
    assert event.fee_paid_online == -1
    assert (event.procedure_code, event.agency) == ("", "")


def test_local_time_is_the_events_wall_clock_written_as_utc() -> None:
    event = normalise(raw())
    assert event.ts == _ms("2026-11-20T16:30:00+00:00")
    local = datetime.fromtimestamp(event.local_ms / 1000, UTC)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-11-20", 23, 30)


def test_known_values_are_kept() -> None:
    event = normalise(
        raw(
            channel="online",
            source="national_portal",
            submitted_by="officer",
            admin_level="commune",
            procedure_code="1.004227",
            procedure_name="Đăng ký khai sinh",
            agency="UBND xã A",
            received_at="2026-11-20T09:00:00+07:00",
            due_at="2026-11-25T17:00:00+07:00",
            resolved_at=_ms("2026-11-24T03:00:00+00:00"),
            returned_at=_ms("2026-11-24T04:00:00+00:00"),
            submitted_at=_ms("2026-11-20T01:00:00+00:00"),
            fee_paid_online=False,
            status="resolved",
        )
    )
    assert (event.channel, event.source, event.submitted_by, event.admin_level) == (
        "online",
        "national_portal",
        "officer",
        "commune",
    )
    assert event.status is DossierStatus.RESOLVED
    assert event.received_at == _ms("2026-11-20T02:00:00+00:00")
    assert event.due_at == _ms("2026-11-25T10:00:00+00:00")
    assert event.fee_paid_online == 0
    assert event.procedure_name == "Đăng ký khai sinh"
    assert normalise(raw(fee_paid_online=True)).fee_paid_online == 1
    assert event.digitized == -1
    assert normalise(raw(digitized=True)).digitized == 1
    assert normalise(raw(digitized=False)).digitized == 0


def test_unknown_timezone_is_refused_with_its_name() -> None:
    with pytest.raises(UnknownTimezone, match="Nowhere/City"):
        normalise(raw(tz="Nowhere/City"))
