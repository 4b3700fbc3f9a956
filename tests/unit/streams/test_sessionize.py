"""The sessionizer: every visit rule of DESIGN §2 and its edge cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.hits import EnrichedHit, SessionRow, SessionUpdate
from streams.sessionize import (
    Advanced,
    State,
    advance,
    expire,
    mark_seen,
    new_state,
    remembers,
    seen_count,
    session_id,
)

MIN = 60_000
HOUR = 60 * MIN
TIMEOUT_S = 1800
MAX_S = 86_400
KEY = "vk-1"
# 2026-11-20 10:00 in Ho Chi Minh City (UTC+7)
T0 = int(datetime(2026, 11, 20, 3, 0, tzinfo=UTC).timestamp() * 1000)
OFFSET = 7 * HOUR


def hit(at_ms: int, event_id: str, type_: str = "pageview", **changes: Any) -> EnrichedHit:
    base: dict[str, Any] = {
        "event_id": event_id,
        "site": "s1",
        "ts": at_ms,
        "local_ms": at_ms + OFFSET,
        "received_ms": at_ms,
        "type": type_,
        "url": f"https://s1.gov.vn/{event_id}",
        "path": f"/{event_id}",
        "host": "s1.gov.vn",
        "visitor_id": "day1-id",
        "country": "VN",
        "device": "desktop",
        "browser": "Chrome",
        "os": "Windows",
    }
    return EnrichedHit.model_validate({**base, **changes})


class Visitor:
    """Feeds hits through ``advance`` like the Faust agent does, keeping the state."""

    def __init__(self, key: str = KEY) -> None:
        self.key = key
        self.state: State | None = None
        self.hits: list[EnrichedHit] = []
        self.updates: list[SessionUpdate] = []
        self.now_ms = 0

    def send(self, h: EnrichedHit) -> Advanced:
        self.now_ms += 1000
        result = advance(
            self.state, h, self.key, timeout_s=TIMEOUT_S, max_s=MAX_S, now_ms=self.now_ms
        )
        self.state = result.state
        self.hits += result.hits
        self.updates += result.updates
        return result

    def rows(self) -> dict[str, SessionRow]:
        """The current row of every visit (what the collapsing table ends with)."""
        current: dict[str, SessionRow] = {}
        for update in self.updates:
            if update.prev is not None:
                assert current[update.prev.session_id] == update.prev  # retracts what it added
            current[update.cur.session_id] = update.cur
        return current


def test_first_hit_opens_a_visit_counted_at_that_hit() -> None:
    v = Visitor()
    result = v.send(hit(T0, "a"))
    assert result.skipped == ""
    (update,) = result.updates
    assert update.prev is None
    row = update.cur
    assert row.session_id == session_id("s1", KEY, "a")
    assert (row.start_ms, row.start_local_ms, row.end_ms) == (T0, T0 + OFFSET, T0)
    assert (row.version, row.hits, row.pageviews, row.events, row.is_bounce) == (1, 1, 1, 0, True)
    assert (row.entry_page, row.exit_page, row.visitor_id) == ("/a", "/a", "day1-id")
    assert (row.country, row.device, row.browser, row.os) == ("VN", "desktop", "Chrome", "Windows")
    (out,) = result.hits
    assert (out.session_id, out.session_start_ms, out.is_entry) == (row.session_id, T0, True)


def test_every_hit_updates_its_visit_retracting_the_previous_row() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    second = v.send(hit(T0 + 5 * MIN, "b"))
    (update,) = second.updates
    assert update.prev is not None and update.prev.version == 1
    assert update.cur.version == 2
    assert (update.cur.pageviews, update.cur.is_bounce, update.cur.exit_page) == (2, False, "/b")
    assert update.cur.duration_s == 300
    assert second.hits[0].is_entry is False
    assert second.hits[0].session_start_ms == T0


def test_a_31_minute_gap_starts_a_second_visit() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + 31 * MIN, "b"))
    rows = v.rows()
    assert len(rows) == 2
    assert sorted(r.start_ms for r in rows.values()) == [T0, T0 + 31 * MIN]
    assert all(r.is_bounce and r.duration_s == 0 for r in rows.values())


def test_a_gap_of_exactly_30_minutes_continues_the_visit() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + 30 * MIN, "b"))
    (row,) = v.rows().values()
    assert (row.pageviews, row.duration_s, row.is_bounce) == (2, 1800, False)


def test_one_millisecond_over_30_minutes_splits() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + 30 * MIN + 1, "b"))
    assert len(v.rows()) == 2


def test_a_visit_across_local_midnight_is_one_visit_counted_on_the_first_day() -> None:
    midnight_local = int(datetime(2026, 11, 20, 17, 0, tzinfo=UTC).timestamp() * 1000)
    v = Visitor()
    v.send(hit(midnight_local - 10 * MIN, "a"))  # 23:50 local
    v.send(hit(midnight_local - 2 * MIN, "b"))  # 23:58
    v.send(hit(midnight_local + 5 * MIN, "c"))  # 00:05 the next day
    (row,) = v.rows().values()
    start_day = datetime.fromtimestamp(row.start_local_ms / 1000, UTC).date()
    assert start_day.isoformat() == "2026-11-20"
    assert (row.pageviews, row.duration_s) == (3, 900)


def test_a_visit_is_capped_at_24_hours() -> None:
    v = Visitor()
    for i in range(0, 24 * 60 + 1, 20):  # a hit every 20 minutes for 24 h
        v.send(hit(T0 + i * MIN, f"h{i}"))
    (row,) = v.rows().values()
    assert row.duration_s == 86_400  # exactly 24 h still joins
    v.send(hit(T0 + (24 * 60 + 20) * MIN, "late"))  # past start + 24 h
    rows = sorted(v.rows().values(), key=lambda r: r.start_ms)
    assert len(rows) == 2
    assert rows[1].start_ms == T0 + (24 * 60 + 20) * MIN


def test_an_out_of_order_hit_inside_the_visit_joins_it() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + 20 * MIN, "c"))
    late = v.send(hit(T0 + 10 * MIN, "b"))
    (row,) = v.rows().values()
    assert (row.pageviews, row.end_ms, row.exit_page) == (3, T0 + 20 * MIN, "/c")
    assert late.hits[0].is_entry is False


def test_an_out_of_order_hit_just_before_the_start_moves_the_start() -> None:
    v = Visitor()
    v.send(hit(T0, "b"))
    first = v.send(
        hit(T0 - 25 * MIN, "a", visitor_id="other-day-id", country="US", referrer_host="x.vn")
    )
    (row,) = v.rows().values()
    assert row.session_id == session_id("s1", KEY, "b")  # the id never changes
    assert (row.start_ms, row.start_local_ms, row.end_ms) == (
        T0 - 25 * MIN,
        T0 - 25 * MIN + OFFSET,
        T0,
    )
    assert (row.entry_page, row.exit_page) == ("/a", "/b")
    assert (row.visitor_id, row.country, row.referrer_host) == ("other-day-id", "US", "x.vn")
    assert first.hits[0].is_entry and first.hits[0].session_start_ms == T0 - 25 * MIN


def test_a_late_hit_of_an_older_remembered_visit_joins_that_visit() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + 2 * HOUR, "c"))  # second visit
    v.send(hit(T0 + 5 * MIN, "b"))  # belongs to the first, arrives late
    rows = sorted(v.rows().values(), key=lambda r: r.start_ms)
    assert [r.pageviews for r in rows] == [2, 1]
    assert rows[0].session_id == session_id("s1", KEY, "a")


def test_a_late_hit_older_than_every_remembered_visit_starts_its_own() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 - 3 * HOUR, "old"))  # a backfilled hit from long before
    rows = sorted(v.rows().values(), key=lambda r: r.start_ms)
    assert [(r.start_ms, r.pageviews) for r in rows] == [(T0 - 3 * HOUR, 1), (T0, 1)]
    v.send(hit(T0 + 10 * MIN, "b"))  # the live visit carries on
    assert sorted(r.pageviews for r in v.rows().values()) == [1, 2]


def test_a_backfill_in_time_order_after_live_traffic_forms_proper_visits() -> None:
    v = Visitor()
    v.send(hit(T0, "live"))
    for i in range(5):  # last month's visit imported now, in order
        v.send(hit(T0 - 30 * 24 * HOUR + i * MIN, f"old{i}"))
    assert sorted(r.pageviews for r in v.rows().values()) == [1, 5]


def test_a_duplicate_event_id_produces_no_output() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + MIN, "b"))
    before = v.state
    again = v.send(hit(T0, "a"))
    assert again == Advanced(before, [], [], "duplicate")  # type: ignore[arg-type]
    (row,) = v.rows().values()
    assert row.hits == 2


def test_duplicates_are_remembered_across_visits_and_bounded() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + 2 * HOUR, "b"))
    assert v.send(hit(T0, "a")).skipped == "duplicate"
    state = new_state()
    for i in range(600):
        state = advance(
            state, hit(T0 + i * 1000, f"e{i}"), KEY, timeout_s=TIMEOUT_S, max_s=MAX_S, now_ms=i
        ).state
    assert seen_count(state) == 512
    assert advance(
        state, hit(T0, "e599"), KEY, timeout_s=TIMEOUT_S, max_s=MAX_S, now_ms=1
    ).skipped == ("duplicate")


def test_a_state_of_format_1_is_read_and_its_event_ids_still_count_as_seen() -> None:
    """Changelogs written before format 2 hold ``seen`` as a list of 12-hex-digit hashes."""
    import hashlib

    def old_hash(event_id: str) -> str:  # format 1's event_hash, verbatim
        return hashlib.blake2b(event_id.encode(), digest_size=6).hexdigest()

    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + MIN, "b"))
    old = {**v.state, "v": 1, "seen": [old_hash("a"), old_hash("b")]}
    assert (
        advance(old, hit(T0 + MIN, "b"), KEY, timeout_s=TIMEOUT_S, max_s=MAX_S, now_ms=1).skipped
        == "duplicate"
    )
    assert mark_seen(old, "a", now_ms=1)[1] is True
    new = advance(old, hit(T0 + 2 * MIN, "c"), KEY, timeout_s=TIMEOUT_S, max_s=MAX_S, now_ms=1)
    assert new.skipped == "" and new.state["v"] == 2
    assert isinstance(new.state["seen"], str) and seen_count(new.state) == 3
    for event_id in ("a", "b", "c"):
        assert (
            advance(
                new.state, hit(T0, event_id), KEY, timeout_s=TIMEOUT_S, max_s=MAX_S, now_ms=2
            ).skipped
            == "duplicate"
        )


def test_a_hash_matches_only_at_a_hash_boundary() -> None:
    seen = "AAAABBBB" + "CCCCDDDD"
    assert remembers(seen, "AAAABBBB") and remembers(seen, "CCCCDDDD")
    assert not remembers(seen, "BBBBCCCC")  # straddles two hashes
    assert remembers("ABABABAB" + "BABABABA", "BABABABA")  # found after a misaligned hit
    assert not remembers("", "AAAABBBB")


def test_a_bot_is_never_sessionized() -> None:
    with pytest.raises(ValueError, match="bot"):
        advance(
            None,
            hit(T0, "a", is_bot=True, bot_reason="script:curl"),
            KEY,
            timeout_s=TIMEOUT_S,
            max_s=MAX_S,
            now_ms=0,
        )


def test_an_engagement_ping_extends_duration_but_does_not_unbounce() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + 40_000, "ping", "engagement", path="/a"))
    (row,) = v.rows().values()
    assert (row.hits, row.pageviews, row.events) == (2, 1, 0)
    assert row.is_bounce
    assert row.duration_s == 40
    assert row.exit_page == "/a"


def test_an_event_unbounces() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + 10_000, "download", "event", name="download", path="/files"))
    (row,) = v.rows().values()
    assert (row.pageviews, row.events, row.is_bounce, row.duration_s) == (1, 1, False, 10)
    assert row.exit_page == "/a"  # the exit page is the last pageview


def test_an_engagement_ping_that_fits_no_visit_is_skipped() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    result = v.send(hit(T0 + 45 * MIN, "ping", "engagement"))
    assert (result.skipped, result.hits, result.updates) == ("orphan_engagement", [], [])
    (row,) = v.rows().values()
    assert row.hits == 1


def test_an_event_alone_is_a_visit_without_pageviews_and_not_a_bounce() -> None:
    v = Visitor()
    v.send(hit(T0, "e", "event", name="download"))
    (row,) = v.rows().values()
    assert (row.pageviews, row.events, row.is_bounce) == (0, 1, False)


def test_the_visit_continues_across_the_salt_change() -> None:
    midnight_local = int(datetime(2026, 11, 20, 17, 0, tzinfo=UTC).timestamp() * 1000)
    v = Visitor()
    v.send(hit(midnight_local - 5 * MIN, "a", visitor_id="salt-day-1"))
    second = v.send(hit(midnight_local + 5 * MIN, "b", visitor_id="salt-day-2"))
    (row,) = v.rows().values()
    assert row.pageviews == 2
    assert row.visitor_id == "salt-day-1"  # the row keeps its first hit's visitor id
    assert second.hits[0].visitor_id == "salt-day-2"  # each hit keeps its own


def test_session_ids_are_deterministic_on_replay() -> None:
    hits = [hit(T0, "a"), hit(T0 + 5 * MIN, "b"), hit(T0 + 2 * HOUR, "c")]
    first, second = Visitor(), Visitor()
    for h in hits:
        first.send(h)
        second.send(h)
    assert first.updates == second.updates
    assert first.hits == second.hits
    assert len({u.cur.session_id for u in first.updates}) == 2


def test_state_is_json_and_the_input_state_is_not_modified() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    snapshot = json.dumps(v.state, sort_keys=True)
    v.send(hit(T0 + MIN, "b"))
    v.send(hit(T0 + 3 * HOUR, "c"))
    assert json.loads(json.dumps(v.state)) == v.state
    assert snapshot != json.dumps(v.state, sort_keys=True)
    state = json.loads(snapshot)
    advance(state, hit(T0 + 2 * MIN, "d"), KEY, timeout_s=TIMEOUT_S, max_s=MAX_S, now_ms=5)
    assert json.dumps(state, sort_keys=True) == snapshot
    assert len(json.dumps(v.state)) < 2500  # small: two visits, three event ids


def test_only_a_few_visits_are_remembered() -> None:
    v = Visitor()
    for day in range(10):
        v.send(hit(T0 + day * 25 * HOUR, f"d{day}"))
    assert v.state is not None
    assert len(v.state["visits"]) == 4
    assert [vis["row"]["start_ms"] for vis in v.state["visits"]][-1] == T0 + 9 * 25 * HOUR


def test_expire_needs_processing_idle_time_and_the_watermark_past_the_visit() -> None:
    state = advance(None, hit(T0, "a"), KEY, timeout_s=TIMEOUT_S, max_s=MAX_S, now_ms=1_000).state
    idle = (TIMEOUT_S + 600) * 1000 + 1
    # recently touched: kept, whatever the watermark says (a backfill still in progress)
    assert not expire(
        state, now_ms=1_000 + 60_000, watermark_ms=T0 + 10 * HOUR, timeout_s=TIMEOUT_S
    )
    # idle, but the partition's event time has not moved past the visit (e.g. after a restart,
    # before the backlog was replayed): kept
    assert not expire(state, now_ms=1_000 + idle, watermark_ms=0, timeout_s=TIMEOUT_S)
    assert not expire(state, now_ms=1_000 + idle, watermark_ms=T0 + 10 * MIN, timeout_s=TIMEOUT_S)
    # idle and the partition's event time is past the visit's end + timeout + margin: evicted
    assert expire(state, now_ms=1_000 + idle, watermark_ms=T0 + idle, timeout_s=TIMEOUT_S)


def test_an_old_event_time_never_expires_a_state_being_touched() -> None:
    # a backfill from last year: event times far behind the wall clock
    old = T0 - 365 * 24 * HOUR
    v = Visitor()
    for i in range(3):
        v.send(hit(old + i * 20 * MIN, f"b{i}"))
    assert v.state is not None
    assert not expire(v.state, now_ms=v.now_ms + 1000, watermark_ms=T0, timeout_s=TIMEOUT_S)
    assert len(v.rows()) == 1


def test_pageview_hits_carry_the_visit_they_joined() -> None:
    v = Visitor()
    v.send(hit(T0, "a"))
    v.send(hit(T0 + MIN, "b"))
    v.send(hit(T0 + timedelta(hours=2) // timedelta(milliseconds=1), "c"))
    ids = [h.session_id for h in v.hits]
    assert ids[0] == ids[1] != ids[2]
    assert [h.is_entry for h in v.hits] == [True, False, True]


def test_bot_event_ids_are_remembered_without_a_visit() -> None:
    state, duplicate = mark_seen(None, "bot-1", now_ms=5)
    assert not duplicate
    assert (state["visits"], seen_count(state), state["touched_ms"]) == ([], 1, 5)
    again, duplicate = mark_seen(state, "bot-1", now_ms=9)
    assert duplicate and again == state
    # an idle bot-only state expires once the partition's event time has moved on
    idle = (TIMEOUT_S + 600) * 1000 + 1
    assert expire(state, now_ms=5 + idle, watermark_ms=T0, timeout_s=TIMEOUT_S)


def test_the_visit_keeps_the_campaign_and_channel_of_its_first_hit() -> None:
    """Issue 17 item 2: utm_* of the landing URL and the channel (core/channels.toml) are the
    first hit's; later hits (their own URLs and referrers) do not change them, and a late hit
    before the start, which becomes the first hit, does."""
    v = Visitor()
    landing = "https://s1.gov.vn/a?utm_source=Zalo&utm_medium=social&utm_campaign=tet&utm_term=t"
    v.send(hit(T0, "a", url=landing, referrer_host="zalo.me"))
    v.send(hit(T0 + MIN, "b", url="https://s1.gov.vn/b?utm_campaign=other", referrer_host="x.vn"))
    (row,) = v.rows().values()
    assert (row.utm_source, row.utm_medium, row.utm_campaign, row.utm_term, row.utm_content) == (
        "Zalo",
        "social",
        "tet",
        "t",
        "",
    )
    assert row.channel == "social"
    v.send(hit(T0 - MIN, "c", url="https://s1.gov.vn/c?gclid=1", referrer_host="google.com"))
    (row,) = v.rows().values()
    assert (row.utm_source, row.utm_campaign, row.channel) == ("", "", "paid")


@pytest.mark.parametrize(
    ("referrer_host", "expected"),
    [("", "direct"), ("coccoc.com", "organic_search"), ("baochinhphu.vn", "referral")],
)
def test_a_visit_without_tags_is_classified_by_its_referrer(
    referrer_host: str, expected: str
) -> None:
    v = Visitor()
    v.send(hit(T0, "a", referrer_host=referrer_host))
    (row,) = v.rows().values()
    assert row.channel == expected


def test_a_state_written_before_channels_still_advances() -> None:
    """A visit remembered by a state from before issue 17 item 2 (no utm_* / channel in its
    row) goes on; its row reads '' for them, like the rows already stored."""
    v = Visitor()
    v.send(hit(T0, "a", referrer_host="google.com"))
    assert v.state is not None
    for visit in v.state["visits"]:
        for name in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"):
            del visit["row"][name]
        del visit["row"]["channel"]
    (update,) = v.send(hit(T0 + MIN, "b")).updates
    assert update.prev is not None and update.prev.channel == ""  # retracts the row as stored
    assert (update.cur.hits, update.cur.channel, update.cur.utm_source) == (2, "", "")
