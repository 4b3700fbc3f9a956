"""The enrichment pipeline: ``RawHit`` → ``EnrichedHit`` through ordered, named steps.

Borrowed from Plausible's ``ingestion/event.ex``: each step is a small function of a mutable
``Draft``. Naming says what a step may do:
- ``drop_<what>`` may end processing with a reason; the hit is unprocessable and becomes a
  dead letter (``EnrichResult.dropped``);
- ``flag_<what>`` may end processing with a reason; the hit is still emitted, marked
  (bots: ``is_bot`` and ``bot_reason``), and is not sessionized;
- ``put_<what>`` only adds fields and never ends processing.

Cheap steps run first: a bot found from the UA string costs neither UA parsing nor a GeoIP
lookup. Every step is timed by name and every drop/flag reason counted in ``StreamCounters``.

Order (``build_pipeline``): drop_unknown_timezone → put_local_time → put_url_parts →
flag_bot_by_ua_string → put_user_agent → flag_bot_by_ua_parser → put_geo.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from schemas.hits import EnrichedHit, RawHit
from streams.enrich.bots import bot_reason
from streams.enrich.geoip import GeoIP
from streams.enrich.localtime import UnknownTimezone, local_ms, zone
from streams.enrich.metrics import StreamCounters
from streams.enrich.urls import url_parts
from streams.enrich.useragent import UserAgentParser, device_from_screen


class Draft:
    """The hit being enriched: the raw hit plus the fields steps have put so far."""

    __slots__ = (
        "browser",
        "browser_version",
        "city",
        "country",
        "device",
        "host",
        "is_spider",
        "local_ms",
        "os",
        "os_version",
        "path",
        "raw",
        "referrer_host",
        "region",
    )

    def __init__(self, raw: RawHit) -> None:
        self.raw = raw
        self.local_ms = 0
        self.host = self.path = self.referrer_host = ""
        self.country = self.region = self.city = ""
        self.device = self.browser = self.browser_version = self.os = self.os_version = ""
        self.is_spider = False

    def enriched(self, bot_reason: str = "") -> EnrichedHit:
        raw = self.raw
        return EnrichedHit(
            event_id=raw.event_id,
            site=raw.site,
            ts=raw.ts,
            local_ms=self.local_ms,
            received_ms=raw.received_ms,
            type=raw.type,
            name=raw.name,
            url=raw.url,
            host=self.host,
            path=self.path,
            referrer=raw.referrer,
            referrer_host=self.referrer_host,
            visitor_id=raw.visitor_id,
            country=self.country,
            region=self.region,
            city=self.city,
            device=self.device,
            browser=self.browser,
            browser_version=self.browser_version,
            os=self.os,
            os_version=self.os_version,
            is_bot=bool(bot_reason),
            bot_reason=bot_reason,
            props=raw.props,
            value=raw.value,
        )


#: A step returns None to go on, or the reason that ends processing.
StepFn = Callable[[Draft], str | None]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    run: StepFn

    def __post_init__(self) -> None:
        if not self.name.startswith(("drop_", "flag_", "put_")):
            raise ValueError(f"step {self.name!r} must be named drop_*, flag_* or put_*")


@dataclass(frozen=True, slots=True)
class EnrichResult:
    """Exactly one of: ``hit`` without ``is_bot`` (sessionize it), ``hit`` with ``is_bot``
    (emit only), or ``dropped`` (a reason; dead-letter the message)."""

    hit: EnrichedHit | None
    dropped: str = ""


class Pipeline:
    """Runs ``steps`` in order on each hit; see the module docstring for the contract."""

    def __init__(self, steps: Sequence[Step], counters: StreamCounters) -> None:
        self.steps = tuple(steps)
        self.counters = counters

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def run(self, raw: RawHit) -> EnrichResult:
        draft = Draft(raw)
        counters = self.counters
        clock = time.perf_counter_ns
        for step in self.steps:
            started = clock()
            reason = step.run(draft)
            counters.observe_step(step.name, clock() - started)
            if reason is None:
                continue
            if step.name.startswith("put_"):
                raise RuntimeError(f"put step {step.name} returned a reason: {reason}")
            if step.name.startswith("drop_"):
                counters.dropped[reason] += 1
                return EnrichResult(hit=None, dropped=reason)
            counters.flagged[reason] += 1
            return EnrichResult(hit=draft.enriched(bot_reason=reason))
        return EnrichResult(hit=draft.enriched())


def drop_unknown_timezone(draft: Draft) -> str | None:
    try:
        zone(draft.raw.tz)
    except UnknownTimezone:
        return "unknown_timezone"
    return None


def put_local_time(draft: Draft) -> None:
    draft.local_ms = local_ms(draft.raw.ts, draft.raw.tz)


def put_url_parts(draft: Draft) -> None:
    parts = url_parts(draft.raw.url, draft.raw.referrer)
    draft.host, draft.path, draft.referrer_host = parts.host, parts.path, parts.referrer_host


def flag_bot_by_ua_string(draft: Draft) -> str | None:
    return bot_reason(draft.raw.ua) or None


def flag_bot_by_ua_parser(draft: Draft) -> str | None:
    return "crawler:ua-parser-spider" if draft.is_spider else None


def build_pipeline(geoip: GeoIP, ua_parser: UserAgentParser, counters: StreamCounters) -> Pipeline:
    """The production step list (order matters: cheap drops and flags first)."""

    def put_user_agent(draft: Draft) -> None:
        info = ua_parser.parse(draft.raw.ua)
        draft.browser, draft.browser_version = info.browser, info.browser_version
        draft.os, draft.os_version = info.os, info.os_version
        draft.device = info.device or device_from_screen(draft.raw.screen_width)
        draft.is_spider = info.is_spider

    def put_geo(draft: Draft) -> None:
        if draft.raw.ip:
            where = geoip.lookup(draft.raw.ip)
            draft.country, draft.region, draft.city = where.country, where.region, where.city

    return Pipeline(
        [
            Step("drop_unknown_timezone", drop_unknown_timezone),
            Step("put_local_time", put_local_time),
            Step("put_url_parts", put_url_parts),
            Step("flag_bot_by_ua_string", flag_bot_by_ua_string),
            Step("put_user_agent", put_user_agent),
            Step("flag_bot_by_ua_parser", flag_bot_by_ua_parser),
            Step("put_geo", put_geo),
        ],
        counters,
    )
