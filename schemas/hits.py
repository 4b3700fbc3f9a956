"""Hit contracts: what the beacon and server-side senders post, and what travels in Kafka.

Flow: ``BeaconHit`` / ``ServerHit`` (HTTP) → ``RawHit`` (topic ``emc.hits.raw``, built by the
collector) → ``EnrichedHit`` (topic ``emc.pageviews``, built by the streams) and
``SessionUpdate`` (topic ``emc.sessions``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import INTERNAL, STRICT, EpochMs, LongText, ShortText, SiteId


class HitType(StrEnum):
    """``pageview`` counts as a page view; ``event`` is interactive (it ends a bounce);
    ``engagement`` is a ping that only extends the visit's duration."""

    PAGEVIEW = "pageview"
    EVENT = "event"
    ENGAGEMENT = "engagement"


#: Short beacon type codes (the tracker sends one letter) and their long names.
BEACON_TYPES: dict[str, HitType] = {
    "p": HitType.PAGEVIEW,
    "e": HitType.EVENT,
    "g": HitType.ENGAGEMENT,
}


class BeaconHit(BaseModel):
    """One hit from the browser beacon. One-letter keys keep the payload small; the long names
    are accepted too. Unknown keys are ignored (older or newer trackers stay compatible)."""

    model_config = ConfigDict(
        extra="ignore", populate_by_name=True, str_strip_whitespace=True, frozen=True
    )

    site: SiteId = Field(alias="s")
    url: LongText = Field(alias="u")
    referrer: LongText = Field("", alias="r")
    type: HitType = Field(HitType.PAGEVIEW, alias="t")
    name: ShortText = Field("", alias="n", description="event name for type=event")
    visitor_id: ShortText | None = Field(None, alias="v", description="opt-in explicit visitor id")
    screen_width: int | None = Field(None, alias="w", ge=0, le=100_000)
    props: dict[str, Any] | None = Field(
        None, alias="p", description="event properties (kept flat as text, ``event_props``)"
    )
    value: float | None = Field(
        None, alias="x", allow_inf_nan=False, description="an event's numeric value"
    )


class ServerHit(BaseModel):
    """One line of ``POST /v1/hits``: a hit sent by a server, an importer or a replay.

    ``ts`` is the hit's own time (RFC 3339 with offset, or epoch ms); it decides the period the
    hit counts in. ``ip`` and ``ua`` are the visitor's, not the sender's. ``event_id`` makes a
    resend harmless; without it the collector assigns one."""

    model_config = STRICT

    site: SiteId
    url: LongText
    referrer: LongText = ""
    type: HitType = HitType.PAGEVIEW
    name: ShortText = ""
    ts: EpochMs
    ip: ShortText = ""
    ua: LongText = ""
    visitor_id: ShortText | None = None
    event_id: ShortText | None = None
    screen_width: int | None = Field(None, ge=0, le=100_000)
    props: dict[str, Any] | None = None
    value: float | None = Field(None, allow_inf_nan=False)


class RawHit(BaseModel):
    """A validated hit as the collector puts it on ``emc.hits.raw``.

    ``ip`` is here for GeoIP enrichment only; it never reaches ClickHouse. ``visitor_id`` is the
    daily-salted hash (or the explicit id), ``prev_visitor_id`` the same person's id under the
    previous day's salt, so a visit continues across the salt change. ``tz`` is the site's
    timezone, used for local dates and hours."""

    model_config = INTERNAL

    event_id: str
    site: str
    tz: str
    ts: int  # epoch ms, the hit's own time
    received_ms: int  # epoch ms, when the collector accepted it
    type: HitType
    name: str = ""
    url: str
    referrer: str = ""
    ip: str = ""
    ua: str = ""
    visitor_id: str
    prev_visitor_id: str = ""
    explicit_visitor: bool = False
    source: Literal["beacon", "server"]
    screen_width: int | None = None
    props: dict[str, str] = Field(default_factory=dict)
    value: float | None = None


class EnrichedHit(BaseModel):
    """A hit after enrichment and sessionization, on ``emc.pageviews``; one row of the raw
    ``pageviews`` table (or of ``bot_hits`` when ``is_bot``). Times are epoch ms; ``local_ms``
    is the wall-clock time in the site's timezone written as if it were UTC, so ClickHouse can
    bucket local dates and hours without a per-row timezone."""

    model_config = INTERNAL

    event_id: str
    site: str
    ts: int
    local_ms: int
    received_ms: int
    type: HitType
    name: str = ""
    url: str
    host: str = ""
    path: str = ""
    referrer: str = ""
    referrer_host: str = ""
    visitor_id: str
    session_id: str = ""
    session_start_ms: int = 0
    is_entry: bool = False
    country: str = ""
    region: str = ""
    city: str = ""
    device: str = ""
    browser: str = ""
    browser_version: str = ""
    os: str = ""
    os_version: str = ""
    is_bot: bool = False
    bot_reason: str = ""
    props: dict[str, str] = Field(default_factory=dict)
    value: float | None = None


#: Limits of stored event properties (issue 17 item 3): at most this many keys, keys and
#: values cut to these lengths, so one hit cannot bloat the raw table.
MAX_PROPS = 30
MAX_PROP_KEY_CHARS = 100
MAX_PROP_VALUE_CHARS = 500


def event_props(props: dict[str, Any] | None) -> dict[str, str]:
    """Event properties as stored (``pageviews.props``, a ``Map(String, String)``): scalars as
    text (``true``/``false`` for booleans, numbers as written by JSON), ``null`` and nested
    values left out (they cannot be grouped by), keys and values cut to their limits, the
    first ``MAX_PROPS`` keys kept. Why text only: a report groups by property value, and one
    column type keeps every property queryable the same way."""
    out: dict[str, str] = {}
    for key, raw in (props or {}).items():
        if len(out) >= MAX_PROPS:
            break
        if isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, int | float | str):
            text = str(raw)
        else:
            continue
        name = str(key)[:MAX_PROP_KEY_CHARS]
        if name:
            out[name] = text[:MAX_PROP_VALUE_CHARS]
    return out


class SessionRow(BaseModel):
    """The state of one visit after a hit; a row of the ``sessions`` table (collapsing by
    ``sign``). ``version`` grows with every hit applied to the visit."""

    model_config = INTERNAL

    session_id: str
    site: str
    visitor_id: str
    start_ms: int
    start_local_ms: int
    end_ms: int
    version: int
    hits: int
    pageviews: int
    events: int
    is_bounce: bool
    entry_page: str = ""
    exit_page: str = ""
    referrer_host: str = ""
    country: str = ""
    region: str = ""
    city: str = ""
    device: str = ""
    browser: str = ""
    os: str = ""
    #: Campaign of the landing URL and the visit's channel (issue 17 item 2, core/channels.py),
    #: from the visit's first hit; '' in rows of visits sessionized before they existed.
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""
    channel: str = ""

    @property
    def duration_s(self) -> float:
        return (self.end_ms - self.start_ms) / 1000


class SessionUpdate(BaseModel):
    """One message on ``emc.sessions``: the visit's previous row (to retract, sign −1) and its
    current row (sign +1). ``prev`` is None for a visit's first hit."""

    model_config = INTERNAL

    prev: SessionRow | None
    cur: SessionRow
