"""The dossier lifecycle state (migration 0020) on the real ClickHouse engine: the same events
in any order, late (after a merge), or stored twice give the same state, and that state is the
one written out by hand below."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clickhouse.client import Database
from schemas.dossier_status import seen_mask
from schemas.dossiers import DossierEvent
from schemas.dossiers import DossierStatus as S
from sink.rows import DOSSIER_COLUMNS, Origin, dossier_row

pytestmark = pytest.mark.integration

H = 3_600_000
T0 = 1_772_326_800_000  # 2026-03-01T01:00:00Z = 08:00 in Hà Nội
ORIGIN = Origin("emc.dossiers", 0, 0)


def _dt(ms: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(milliseconds=ms)


def _event(n: int, code: str, status: S, ts: int, **fields: Any) -> DossierEvent:
    return DossierEvent(
        event_id=f"{code}-e{n}",
        site="s",
        dossier_code=code,
        status=status,
        ts=ts,
        local_ms=ts + 7 * H,
        received_ms=ts,
        **fields,
    )


#: D1: the whole online lifecycle, resolved before the due time.
#: D2: a direct dossier whose reported reception time differs from its event time and whose
#:     due time is extended by a later event; still open.
#: D3: resolved and returned in the same millisecond (the later step wins the status), late
#:     past its due time, fee paid directly.
EVENTS = [
    _event(1, "D1", S.SUBMITTED, T0, channel="online", source="dvc_portal",
           submitted_by="citizen", procedure_code="1.001", procedure_name="Khai sinh"),
    _event(2, "D1", S.RECEIVED, T0 + 1 * H, due_at=T0 + 72 * H, admin_level="commune",
           agency="UBND-X"),
    _event(3, "D1", S.PROCESSING, T0 + 2 * H),
    _event(4, "D1", S.PAYMENT_REQUESTED, T0 + 3 * H),
    _event(5, "D1", S.RESOLVED, T0 + 30 * H, fee_paid_online=1),
    _event(6, "D1", S.RETURNED, T0 + 31 * H),
    _event(1, "D2", S.RECEIVED, T0 + 5 * H, received_at=T0 + 4 * H, due_at=T0 + 24 * H,
           channel="direct", procedure_code="2.002"),
    _event(2, "D2", S.SUPPLEMENT_REQUESTED, T0 + 6 * H, due_at=T0 + 96 * H),
    _event(3, "D2", S.PROCESSING, T0 + 7 * H, procedure_name="Đăng ký kinh doanh"),
    _event(1, "D3", S.RECEIVED, T0, due_at=T0 + 10 * H, channel="postal",
           procedure_code="3.003"),
    _event(2, "D3", S.RESOLVED, T0 + 20 * H, fee_paid_online=0),
    _event(3, "D3", S.RETURNED, T0 + 20 * H),
]  # fmt: skip

EXPECTED = {
    "D1": {
        "status": "returned",
        "statuses_seen": seen_mask(S.SUBMITTED, S.RECEIVED, S.PROCESSING, S.PAYMENT_REQUESTED,
                                   S.RESOLVED, S.RETURNED),
        "procedure_code": "1.001", "procedure_name": "Khai sinh", "channel": "online",
        "source": "dvc_portal", "submitted_by": "citizen", "agency": "UBND-X",
        "admin_level": "commune",
        "submitted_at": _dt(T0), "received_at": _dt(T0 + H), "due_at": _dt(T0 + 72 * H),
        "resolved_at": _dt(T0 + 30 * H), "returned_at": _dt(T0 + 31 * H),
        "result_at": _dt(T0 + 30 * H), "on_time": 1, "processing_s": 30 * 3600.0,
        "fee_paid_online": 1,
    },
    "D2": {
        "status": "processing",
        "statuses_seen": seen_mask(S.RECEIVED, S.SUPPLEMENT_REQUESTED, S.PROCESSING),
        "procedure_code": "2.002", "procedure_name": "Đăng ký kinh doanh", "channel": "direct",
        "source": "", "submitted_by": "", "agency": "", "admin_level": "",
        "submitted_at": None, "received_at": _dt(T0 + 4 * H), "due_at": _dt(T0 + 96 * H),
        "resolved_at": None, "returned_at": None, "result_at": None, "on_time": None,
        "processing_s": None, "fee_paid_online": None,
    },
    "D3": {
        "status": "returned",
        "statuses_seen": seen_mask(S.RECEIVED, S.RESOLVED, S.RETURNED),
        "procedure_code": "3.003", "procedure_name": "", "channel": "postal", "source": "",
        "submitted_by": "", "agency": "", "admin_level": "",
        "submitted_at": None, "received_at": _dt(T0), "due_at": _dt(T0 + 10 * H),
        "resolved_at": _dt(T0 + 20 * H), "returned_at": _dt(T0 + 20 * H),
        "result_at": _dt(T0 + 20 * H), "on_time": 0, "processing_s": 20 * 3600.0,
        "fee_paid_online": 0,
    },
}  # fmt: skip

FIELDS = list(EXPECTED["D1"])


def _insert(db: Database, site: str, events: list[DossierEvent]) -> None:
    rows = [dossier_row(e.model_copy(update={"site": site}), ORIGIN) for e in events]
    db.insert("dossier_events", rows, DOSSIER_COLUMNS)


def _state(db: Database, site: str) -> dict[str, dict[str, Any]]:
    result = db.query(
        f"SELECT dossier_code, {', '.join(FIELDS)} FROM dossiers "
        "WHERE site = {site:String} ORDER BY dossier_code",
        parameters={"site": site},
    )
    out = {}
    for row in result.result_rows:
        values = dict(zip(FIELDS, row[1:], strict=True))
        for key, value in values.items():
            if isinstance(value, datetime) and value.tzinfo is not None:
                values[key] = value.astimezone(UTC).replace(tzinfo=None)
        out[row[0]] = values
    return out


@pytest.fixture()
def db(clickhouse_engine: Any, ch_database: str) -> Database:
    return Database(clickhouse_engine, ch_database)


def test_events_in_order_give_the_known_state(db: Database) -> None:
    for event in EVENTS:
        _insert(db, "inorder", [event])
    assert _state(db, "inorder") == EXPECTED


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_any_order_one_event_per_insert_gives_the_same_state(db: Database, seed: int) -> None:
    shuffled = EVENTS[:]
    random.Random(seed).shuffle(shuffled)
    for event in shuffled:
        _insert(db, "shuffled", [event])
    assert _state(db, "shuffled") == EXPECTED


def test_reverse_order_in_one_insert_gives_the_same_state(db: Database) -> None:
    _insert(db, "reversed", list(reversed(EVENTS)))
    assert _state(db, "reversed") == EXPECTED


def test_duplicates_and_late_events_after_a_merge_change_nothing(db: Database) -> None:
    # the later half first, merged into one part, then the earlier half late, then everything
    # again (a Kafka replay / a resend with the same event ids)
    _insert(db, "late", EVENTS[6:])
    _insert(db, "late", EVENTS[6:])
    db.command("OPTIMIZE TABLE dossier_state FINAL")
    _insert(db, "late", EVENTS[:6])
    db.command("OPTIMIZE TABLE dossier_state FINAL")
    _insert(db, "late", EVENTS)
    assert _state(db, "late") == EXPECTED
    db.command("OPTIMIZE TABLE dossier_state FINAL")
    assert _state(db, "late") == EXPECTED


def test_the_migration_backfills_events_stored_before_it(
    clickhouse_engine: Any, ch_database: str
) -> None:
    """Rebuild from raw: drop the state, run the migration's backfill statement again."""
    from clickhouse.migrate import discover

    db = Database(clickhouse_engine, ch_database)
    _insert(db, "backfill", EVENTS)
    db.command("TRUNCATE TABLE dossier_state")
    assert _state(db, "backfill") == {}
    migration = next(m for m in discover() if m.name == "dossier_state")
    backfill = next(s for s in migration.statements(ch_database) if "\nINSERT INTO" in f"\n{s}")
    db.command(backfill)
    assert _state(db, "backfill") == EXPECTED
