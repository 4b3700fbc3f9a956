"""The worker's handlers without a broker: bytes in, messages out (decode → enrich →
sessionize, dossiers, dead letters), on the known-answer scenario of the end-to-end test."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from core.settings import Settings
from schemas.deadletter import DeadLetter
from schemas.dossiers import DossierEvent
from schemas.hits import EnrichedHit, SessionRow, SessionUpdate
from schemas.topics import hit_key
from streams import sessionize
from streams.app import DossierHandler, HitHandler, Incoming, Outgoing
from streams.enrich.geoip import GeoIP
from streams.enrich.metrics import StreamCounters
from streams.enrich.pipeline import build_pipeline
from streams.enrich.useragent import UserAgentParser
from tests.integration import scenario
from tests.mmdb_builder import build_country_mmdb

PREFIX = "t."


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, topic_prefix=PREFIX)


@pytest.fixture()
def handler(settings: Settings, tmp_path: Path) -> HitHandler:
    geo = GeoIP(build_country_mmdb(tmp_path / "geo.mmdb", scenario.GEO_NETWORKS))
    counters = StreamCounters()
    return HitHandler(settings, build_pipeline(geo, UserAgentParser(), counters), counters)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def raw_messages() -> list[tuple[bytes, bytes]]:
    """The scenario's hits as the collector would put them on emc.hits.raw."""
    out = []
    for i, line in enumerate(scenario.hits()):
        visitor = line["event_id"].split("-")[1]
        hit = {
            "event_id": line["event_id"],
            "site": line["site"],
            "tz": "Asia/Ho_Chi_Minh",
            "ts": _ms(line["ts"]),
            "received_ms": 1_795_000_000_000 + i,
            "type": line["type"],
            "name": line.get("name", ""),
            "url": line["url"],
            "ip": line["ip"],
            "ua": line["ua"],
            "visitor_id": f"vid-{visitor}",
            "source": "server",
        }
        out.append((hit_key(line["site"], f"key-{visitor}"), orjson.dumps(hit)))
    return out


class Run:
    """Feeds messages through a handler with a dict as the visitor table."""

    def __init__(self, handler: HitHandler) -> None:
        self.handler = handler
        self.table: dict[bytes, Any] = {}
        self.out: list[Outgoing] = []

    def feed(self, key: bytes | None, value: bytes, offset: int = 0) -> list[Outgoing]:
        stored = self.table.get(key) if key else None
        outcome = self.handler.handle(
            Incoming(f"{PREFIX}emc.hits.raw", 1, offset, key, value), stored, 1
        )
        if outcome.state is not None:
            assert key is not None
            self.table[key] = orjson.loads(orjson.dumps(outcome.state))  # as the table stores it
        self.out += outcome.messages
        return outcome.messages

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [orjson.loads(m.value) for m in self.out if m.topic == PREFIX + topic]


def _day_numbers(run: Run) -> dict[str, Any]:
    rows: dict[str, SessionRow] = {}
    for data in run.on("emc.sessions"):
        update = SessionUpdate.model_validate(data)
        rows[update.cur.session_id] = update.cur
    day = [
        r
        for r in rows.values()
        if datetime.fromtimestamp(r.start_local_ms / 1000, UTC).date().isoformat() == "2026-11-20"
    ]
    hits = [EnrichedHit.model_validate(d) for d in run.on("emc.pageviews")]
    humans = [h for h in hits if not h.is_bot]
    on_day = [
        h
        for h in humans
        if datetime.fromtimestamp(h.local_ms / 1000, UTC).date().isoformat() == "2026-11-20"
    ]
    return {
        "visits": len(day),
        "pageviews_by_hit_time": sum(1 for h in on_day if h.type == "pageview"),
        "visit_pageviews": sum(r.pageviews for r in day),
        "bounces": sum(r.is_bounce for r in day),
        "duration_s": sum(r.duration_s for r in day),
        "unique_visitors": len({h.visitor_id for h in on_day}),
        "bot_hits": sum(1 for h in hits if h.is_bot),
    }


def test_the_known_scenario_gives_the_expected_numbers(handler: HitHandler) -> None:
    run = Run(handler)
    for offset, (key, value) in enumerate(raw_messages()):
        run.feed(key, value, offset)
    assert _day_numbers(run) == scenario.EXPECTED_DAY
    countries: dict[str, int] = {}
    devices: dict[str, int] = {}
    rows = {
        SessionUpdate.model_validate(d).cur.session_id: SessionUpdate.model_validate(d).cur
        for d in run.on("emc.sessions")
    }
    for row in rows.values():
        countries[row.country] = countries.get(row.country, 0) + 1
        devices[row.device] = devices.get(row.device, 0) + 1
    assert countries == scenario.EXPECTED_COUNTRY_VISITS
    assert devices == scenario.EXPECTED_DEVICE_VISITS
    assert run.on("emc.deadletters") == []


def test_outputs_keep_the_input_key_and_replays_change_nothing(handler: HitHandler) -> None:
    run = Run(handler)
    messages = raw_messages()
    for key, value in messages:
        for out in run.feed(key, value):
            assert out.key == key
    produced = len(run.out)
    for key, value in messages:  # Kafka redelivers everything
        run.feed(key, value)
    bots = sum(1 for _, v in messages if b"curl" in v)
    assert len(run.out) == produced  # nothing comes out twice, bot hits included
    assert handler.counters.sessionizer["duplicate"] == len(messages) - bots
    assert handler.counters.sessionizer["duplicate_bot"] == bots == 1


def test_a_bot_goes_to_pageviews_flagged_and_is_not_sessionized(handler: HitHandler) -> None:
    run = Run(handler)
    bot = next((k, v) for k, v in raw_messages() if b"curl" in v)
    out = run.feed(*bot)
    assert [m.topic for m in out] == [f"{PREFIX}emc.pageviews"]
    hit = EnrichedHit.model_validate(orjson.loads(out[0].value))
    assert (hit.is_bot, hit.bot_reason, hit.session_id) == (True, "script:curl", "")
    (state,) = run.table.values()
    assert state["visits"] == []  # remembered for duplicates only
    assert sessionize.seen_count(state) == 1


@pytest.mark.parametrize(
    ("key", "value", "reason", "detail"),
    [
        (b"e2e|k", b"{not json", "invalid_json", "not JSON"),
        (b"e2e|k", b"", "empty_message", "no value"),
        (b"e2e|k", b"[1, 2]", "validation", "JSON object"),
        (
            b"e2e|k",
            orjson.dumps({"event_id": "x", "site": "e2e"}),
            "validation",
            "url: Field required",
        ),
        (None, None, "missing_key", "key"),
        (b"no-separator", None, "invalid_key", "key"),
        (b"other|k", None, "key_mismatch", "'other'"),
    ],
)
def test_unprocessable_messages_become_one_dead_letter(
    handler: HitHandler, key: bytes | None, value: bytes | None, reason: str, detail: str
) -> None:
    if value is None:
        value = raw_messages()[0][1]
    run = Run(handler)
    (out,) = run.feed(key, value, offset=7)
    assert out.topic == f"{PREFIX}emc.deadletters"
    letter = DeadLetter.model_validate(orjson.loads(out.value))
    assert (letter.stage, letter.reason, letter.source_topic) == (
        "streams.hits",
        reason,
        f"{PREFIX}emc.hits.raw",
    )
    assert (letter.partition, letter.offset) == (1, 7)
    assert detail in letter.detail
    assert letter.payload == value.decode("utf-8", errors="replace")
    assert handler.counters.dead_letters[f"streams.hits/{reason}"] == 1


def test_a_hit_dropped_by_enrichment_is_dead_lettered(handler: HitHandler) -> None:
    key, value = raw_messages()[0]
    data = orjson.loads(value)
    data["tz"] = "Nowhere/City"
    (out,) = Run(handler).feed(key, orjson.dumps(data))
    letter = DeadLetter.model_validate(orjson.loads(out.value))
    assert letter.reason == "unknown_timezone"


def test_dossier_handler_normalises_and_dead_letters(settings: Settings) -> None:
    handler = DossierHandler(settings, StreamCounters())
    event = {
        "event_id": "d1",
        "site": "mc1",
        "dossier_code": "H1",
        "status": "submitted",
        "ts": _ms("2026-11-20T08:00:00+07:00"),
        "tz": "Asia/Ho_Chi_Minh",
        "received_ms": 1,
    }
    msg = Incoming(f"{PREFIX}emc.dossiers.raw", 0, 5, b"mc1|H1", orjson.dumps(event))
    (out,) = handler.handle(msg, now_ms=9)
    assert (out.topic, out.key) == (f"{PREFIX}emc.dossiers", b"mc1|H1")
    normalised = DossierEvent.model_validate(orjson.loads(out.value))
    assert datetime.fromtimestamp(normalised.local_ms / 1000, UTC).hour == 8
    bad = Incoming(msg.topic, 0, 6, b"mc1|H1", orjson.dumps({**event, "tz": "Bad/Zone"}))
    (letter,) = handler.handle(bad, now_ms=9)
    assert letter.topic == f"{PREFIX}emc.deadletters"
    assert DeadLetter.model_validate(orjson.loads(letter.value)).reason == "unknown_timezone"
    garbage = Incoming(msg.topic, 0, 7, None, b"\xff")
    (letter,) = handler.handle(garbage, now_ms=9)
    assert DeadLetter.model_validate(orjson.loads(letter.value)).stage == "streams.dossiers"


def test_an_unexpected_error_becomes_an_internal_error_dead_letter(handler: HitHandler) -> None:
    msg = Incoming(f"{PREFIX}emc.hits.raw", 2, 9, b"e2e|k", b"{}")
    letter = DeadLetter.model_validate(
        orjson.loads(handler.internal_error(msg, KeyError("boom"), 5).value)
    )
    assert (letter.reason, letter.stage, letter.offset) == ("internal_error", "streams.hits", 9)
    assert "KeyError" in letter.detail


def test_evict_removes_idle_states_of_active_partitions_and_names_their_tombstones(
    handler: HitHandler,
) -> None:
    from streams.app import evict

    run = Run(handler)
    for key, value in raw_messages():
        run.feed(key, value)
    store = {k: {"p": 1, "s": s} for k, s in run.table.items()}
    store[b"e2e|elsewhere"] = {"p": 4, "s": next(iter(run.table.values()))}
    late = 2_000_000_000_000  # the partition's event time, long past every visit
    idle_now = 10**9  # processing time long after the states were touched (now_ms=1)
    assert evict(store, {1}, {1: late}, 1800, now_ms=1000) == {}  # touched recently
    assert evict(store, {1}, {1: 0}, 1800, now_ms=idle_now) == {}  # no event time seen yet
    evicted = evict(store, {1}, {1: late}, 1800, now_ms=idle_now)
    assert list(evicted) == [1]
    assert sorted(evicted[1]) == sorted(run.table) and len(run.table) == 6  # 5 visitors + bot
    assert list(store) == [b"e2e|elsewhere"]  # partition 4 is not ours: left alone


def test_forget_partitions_drops_only_the_states_of_those_partitions() -> None:
    from streams.app import forget_partitions

    store: dict[bytes, Any] = {
        b"s|a": {"p": 0, "s": {}},
        b"s|b": {"p": 3, "s": {}},
        b"s|c": {"p": 3, "s": {}},
        b"s|d": {"p": 5, "s": {}},
    }
    assert forget_partitions(store, set()) == 0
    assert forget_partitions(store, {3, 4}) == 2
    assert sorted(store) == [b"s|a", b"s|d"]
