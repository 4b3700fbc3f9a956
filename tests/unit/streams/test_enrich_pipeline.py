"""The enrichment pipeline: step order, drop/flag/put contract, timings and counters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemas.hits import RawHit
from streams.enrich.geoip import GeoIP
from streams.enrich.metrics import StreamCounters
from streams.enrich.pipeline import Draft, Pipeline, Step, build_pipeline
from streams.enrich.useragent import UserAgentParser
from tests.integration import scenario
from tests.mmdb_builder import build_country_mmdb

TS = 1_795_000_000_000  # 2026-11-18T…Z


def raw_hit(**changes: Any) -> RawHit:
    base: dict[str, Any] = {
        "event_id": "e1",
        "site": "s1",
        "tz": "Asia/Ho_Chi_Minh",
        "ts": TS,
        "received_ms": TS + 10,
        "type": "pageview",
        "url": "https://s1.gov.vn/tin-tuc?id=1",
        "referrer": "https://www.google.com/",
        "ip": "14.160.1.1",
        "ua": scenario.UA_CHROME,
        "visitor_id": "v" * 32,
        "source": "beacon",
    }
    return RawHit.model_validate({**base, **changes})


class _CountingGeo(GeoIP):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls = 0
        inner = self.lookup

        def lookup(ip: str) -> Any:
            self.calls += 1
            return inner(ip)

        self.lookup = lookup


@pytest.fixture()
def geo(tmp_path: Path) -> _CountingGeo:
    return _CountingGeo(build_country_mmdb(tmp_path / "geo.mmdb", {"14.160.0.0/16": "VN"}))


def test_a_browser_hit_gets_every_field(geo: _CountingGeo) -> None:
    counters = StreamCounters()
    result = build_pipeline(geo, UserAgentParser(), counters).run(raw_hit())
    hit = result.hit
    assert hit is not None and not result.dropped
    assert (hit.host, hit.path, hit.referrer_host) == ("s1.gov.vn", "/tin-tuc", "google.com")
    assert hit.local_ms == TS + 7 * 3600 * 1000
    assert (hit.country, hit.device, hit.browser, hit.os) == ("VN", "desktop", "Chrome", "Windows")
    assert (hit.browser_version, hit.os_version) == ("131.0.0", "10")
    assert not hit.is_bot and hit.bot_reason == ""
    assert (hit.session_id, hit.is_entry) == ("", False)  # the sessionizer sets these
    assert counters.step_calls["put_geo"] == 1
    assert counters.step_ns["put_geo"] > 0


def test_event_props_and_value_pass_through(geo: _CountingGeo) -> None:
    """Issue 17 item 3: what the collector kept reaches the pageviews row."""
    raw = raw_hit(type="event", name="submit", props={"procedure": "1.000123"}, value=2.5)
    hit = build_pipeline(geo, UserAgentParser(), StreamCounters()).run(raw).hit
    assert hit is not None and (hit.props, hit.value) == ({"procedure": "1.000123"}, 2.5)


def test_steps_run_cheap_first_and_are_named_by_what_they_may_do(geo: _CountingGeo) -> None:
    names = build_pipeline(geo, UserAgentParser(), StreamCounters()).step_names
    assert names.index("flag_bot_by_ua_string") < names.index("put_user_agent")
    assert names.index("put_user_agent") < names.index("put_geo")
    assert names[0] == "drop_unknown_timezone"
    with pytest.raises(ValueError, match="drop_\\*, flag_\\* or put_\\*"):
        Step("enrich_everything", lambda d: None)


def test_a_bot_is_flagged_before_costly_steps(geo: _CountingGeo) -> None:
    counters = StreamCounters()
    result = build_pipeline(geo, UserAgentParser(), counters).run(raw_hit(ua=scenario.UA_CURL))
    assert result.hit is not None
    assert result.hit.is_bot and result.hit.bot_reason == "script:curl"
    assert result.hit.path == "/tin-tuc" and result.hit.local_ms  # cheap fields are kept
    assert geo.calls == 0
    assert "put_user_agent" not in counters.step_calls
    assert counters.flagged == {"script:curl": 1}


def test_a_parser_spider_is_flagged_after_parsing(geo: _CountingGeo) -> None:
    counters = StreamCounters()
    pipeline = build_pipeline(geo, UserAgentParser(), counters)
    # ua-parser knows this crawler; the string rules do not name it
    result = pipeline.run(raw_hit(ua="Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)"))
    assert result.hit is not None and result.hit.is_bot
    assert result.hit.bot_reason == "crawler:ua-parser-spider"
    assert geo.calls == 0


def test_an_unknown_timezone_drops_the_hit_with_a_reason(geo: _CountingGeo) -> None:
    counters = StreamCounters()
    result = build_pipeline(geo, UserAgentParser(), counters).run(raw_hit(tz="Mars/Base"))
    assert result.hit is None
    assert result.dropped == "unknown_timezone"
    assert counters.dropped == {"unknown_timezone": 1}
    assert counters.step_calls["put_local_time"] == 0


def test_device_falls_back_to_screen_width(geo: _CountingGeo) -> None:
    pipeline = build_pipeline(geo, UserAgentParser(), StreamCounters())
    hit = pipeline.run(raw_hit(ua="SomeKioskBrowser", screen_width=400)).hit
    assert hit is not None and hit.device == "mobile"


def test_private_ip_gets_no_country(geo: _CountingGeo) -> None:
    hit = build_pipeline(geo, UserAgentParser(), StreamCounters()).run(raw_hit(ip="10.0.0.1")).hit
    assert hit is not None and hit.country == ""


def test_a_put_step_that_returns_a_reason_is_a_bug() -> None:
    pipeline = Pipeline([Step("put_nothing", lambda d: "oops")], StreamCounters())
    with pytest.raises(RuntimeError, match="put_nothing"):
        pipeline.run(raw_hit())


def test_flag_and_drop_steps_end_processing() -> None:
    seen: list[str] = []

    def put_mark(draft: Draft) -> None:
        seen.append(draft.raw.event_id)

    flagged = Pipeline(
        [Step("flag_all", lambda d: "x"), Step("put_mark", put_mark)], StreamCounters()
    )
    dropped = Pipeline(
        [Step("drop_all", lambda d: "y"), Step("put_mark", put_mark)], StreamCounters()
    )
    assert flagged.run(raw_hit()).hit is not None
    assert dropped.run(raw_hit()).dropped == "y"
    assert seen == []
