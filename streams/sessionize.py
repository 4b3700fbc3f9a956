"""The sessionizer: a pure update ``advance(state, hit) -> (state, hits, updates)``.

DESIGN §2, as implemented here (every rule has a unit test in
tests/unit/streams/test_sessionize.py):

- A visit is the hits of one visitor (``visitor_key``, the salt-independent partition key) on
  one site with no gap **over** ``timeout_s`` (30 min) between consecutive hits by event time.
  A gap of exactly 30:00 continues the visit; 30:00.001 starts a new one.
- A visit is capped: a hit more than ``max_s`` (24 h) after the visit's start starts a new
  visit (exactly 24 h still joins). There is no split at midnight or at the daily salt change:
  state is found by ``visitor_key``, and the row keeps the ``visitor_id`` of its first hit.
- Event time decides, never the wall clock. A hit joins the remembered visit whose
  ``[start - timeout, end + timeout]`` window holds it (within the cap); a hit before the
  start moves the start (and the entry page, source, location, device, visitor id,
  ``start_local_ms``, the landing URL's campaign ``utm_*`` and the ``channel``, which all
  describe the first hit; ``core/channels.py``). The ``session_id`` never changes:
  ``hash(site|visitor_key|event_id of the hit that opened the visit)``, so hits already emitted
  keep pointing at their visit.
- The state remembers the last ``_MAX_VISITS`` visits (least recently touched dropped first),
  so a late hit of an older, already closed visit still joins it while it is remembered. A late
  hit that fits no remembered visit starts its own visit (choice: rather one visit too many than
  a hit lost or a closed visit's numbers rewritten from partial memory). A late hit never merges
  two visits; it joins the nearest one that holds it.
- Duration = last − first hit (engagement pings extend it). Bounce = exactly one pageview and no
  ``event`` hit; engagement pings are not interactive. An engagement ping that fits no visit is
  not a visit by itself (it only reports time spent on a page of a visit already over): it is
  skipped and counted (``orphan_engagement``), like Plausible.
- Duplicates: the state remembers a 48-bit hash of the last ``seen_limit`` (512) applied event
  ids, as one string of 8-character base64 hashes (one object of ~4 KB, not 512 strings of
  ~70 bytes each: a visitor that never pauses long enough to be evicted holds the whole
  window); a hit seen before produces no output at all. Bot hits are not sessionized but go through
  the same memory (``mark_seen``), so a redelivered bot hit is not counted twice either.

Every applied hit emits its ``EnrichedHit`` (``session_id``, ``session_start_ms``, ``is_entry``
= it was the visit's first hit when applied) and one ``SessionUpdate`` (``prev`` = the row
before, None for a new visit; ``cur`` = the row after, ``version`` + 1). Hits emitted earlier are
not rewritten when a late hit moves the start: the sessions row is the authority on entry page
and start.

Eviction (``expire``) is by processing time since the state was last touched AND by the
partition's event-time watermark, never by comparing an event time with the wall clock: a
backfill of old hits keeps touching its state, so it is not evicted mid-visit however old its
event times are, and after a restart the watermark starts from nothing, so a backlog is
replayed into the states before they can expire.

State is a small JSON-ready dict (Faust table value)::

    {"v": 2, "touched_ms": <processing ms>, "seen": "<8 base64 chars per event id>…",
     "visits": [{"row": <SessionRow fields>, "exit_ms": int, "exit_pv": bool}, ...]}

Format 1 (states in changelogs written before) held ``seen`` as a list of 12-hex-digit hashes
of the same 48 bits; it is read and converted on the visitor's next hit.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, NamedTuple

from core.channels import visit_source
from schemas.hits import EnrichedHit, HitType, SessionRow, SessionUpdate

STATE_FORMAT = 2
#: Recent event ids remembered per visitor for duplicate detection.
SEEN_LIMIT = 512
#: Characters per remembered event id in ``seen`` (base64 of 6 bytes, no padding).
SEEN_WIDTH = 8
#: Visits remembered per visitor (late hits of these can still join them).
_MAX_VISITS = 4
#: Extra idle time before eviction, on top of the session timeout.
EVICTION_MARGIN_S = 600

State = dict[str, Any]


class Advanced(NamedTuple):
    """What ``advance`` decided. ``skipped`` is "" when the hit was applied, else the reason
    it produced no output (``duplicate``, ``orphan_engagement``)."""

    state: State
    hits: list[EnrichedHit]
    updates: list[SessionUpdate]
    skipped: str = ""


def event_hash(event_id: str) -> str:
    """48-bit hash of an event id as 8 base64 characters: small in the state, collisions
    negligible among 512 ids."""
    return base64.b64encode(hashlib.blake2b(event_id.encode(), digest_size=6).digest()).decode()


def seen_text(seen: str | list[str]) -> str:
    """``seen`` as format 2 (one string); a format-1 list of hex hashes is converted."""
    if isinstance(seen, str):
        return seen
    return "".join(base64.b64encode(bytes.fromhex(h)).decode() for h in seen)


def seen_count(state: State) -> int:
    """How many event ids ``state`` remembers."""
    return len(seen_text(state["seen"])) // SEEN_WIDTH


def remembers(seen: str, digest: str) -> bool:
    """Whether ``digest`` is one of the hashes of ``seen`` (only at a hash boundary: the same
    characters straddling two hashes are not a match)."""
    at = seen.find(digest)
    while at != -1:
        if at % SEEN_WIDTH == 0:
            return True
        at = seen.find(digest, at + 1)
    return False


def _remember(seen: str, digest: str, limit: int) -> str:
    return (seen + digest)[-limit * SEEN_WIDTH :]


def session_id(site: str, visitor_key: str, event_id: str) -> str:
    """Deterministic visit id: the same hits replayed into empty state give the same ids."""
    return hashlib.blake2b(f"{site}|{visitor_key}|{event_id}".encode(), digest_size=16).hexdigest()


def new_state() -> State:
    return {"v": STATE_FORMAT, "touched_ms": 0, "seen": "", "visits": []}


def _distance(visit: dict[str, Any], ts: int) -> int:
    row = visit["row"]
    if ts < row["start_ms"]:
        return int(row["start_ms"]) - ts
    if ts > row["end_ms"]:
        return ts - int(row["end_ms"])
    return 0


def _fits(visit: dict[str, Any], ts: int, timeout_ms: int, max_ms: int) -> bool:
    start, end = int(visit["row"]["start_ms"]), int(visit["row"]["end_ms"])
    if ts < start:
        return start - ts <= timeout_ms and end - ts <= max_ms
    if ts > end:
        return ts - end <= timeout_ms and ts - start <= max_ms
    return True


def _find_visit(visits: list[dict[str, Any]], ts: int, timeout_ms: int, max_ms: int) -> int | None:
    """Index of the remembered visit the hit joins: the nearest that holds it (ties: the later
    start), or None."""
    best: int | None = None
    for i, visit in enumerate(visits):
        if not _fits(visit, ts, timeout_ms, max_ms):
            continue
        if best is None:
            best = i
            continue
        d, best_d = _distance(visit, ts), _distance(visits[best], ts)
        later = visit["row"]["start_ms"] > visits[best]["row"]["start_ms"]
        if d < best_d or (d == best_d and later):
            best = i
    return best


def _first_hit_fields(hit: EnrichedHit) -> dict[str, Any]:
    """The row fields that describe a visit's first hit."""
    return {
        "visitor_id": hit.visitor_id,
        "start_ms": hit.ts,
        "start_local_ms": hit.local_ms,
        "entry_page": hit.path,
        "referrer_host": hit.referrer_host,
        "country": hit.country,
        "region": hit.region,
        "city": hit.city,
        "device": hit.device,
        "browser": hit.browser,
        "os": hit.os,
        **visit_source(hit.url, hit.referrer_host),
    }


def _open(hit: EnrichedHit, visitor_key: str) -> dict[str, Any]:
    is_pageview = hit.type is HitType.PAGEVIEW
    is_event = hit.type is HitType.EVENT
    row = {
        "session_id": session_id(hit.site, visitor_key, hit.event_id),
        "site": hit.site,
        **_first_hit_fields(hit),
        "end_ms": hit.ts,
        "version": 1,
        "hits": 1,
        "pageviews": int(is_pageview),
        "events": int(is_event),
        "is_bounce": is_pageview and not is_event,
        "exit_page": hit.path,
    }
    return {"row": row, "exit_ms": hit.ts, "exit_pv": is_pageview}


def _join(visit: dict[str, Any], hit: EnrichedHit) -> tuple[dict[str, Any], bool]:
    """The visit after ``hit``, and whether the hit became its first hit."""
    row = dict(visit["row"])
    is_pageview = hit.type is HitType.PAGEVIEW
    is_entry = hit.ts < row["start_ms"]
    if is_entry:
        row.update(_first_hit_fields(hit))
    row["end_ms"] = max(int(row["end_ms"]), hit.ts)
    row["version"] += 1
    row["hits"] += 1
    row["pageviews"] += int(is_pageview)
    row["events"] += int(hit.type is HitType.EVENT)
    row["is_bounce"] = row["pageviews"] == 1 and row["events"] == 0
    exit_ms, exit_pv = int(visit["exit_ms"]), bool(visit["exit_pv"])
    if (is_pageview and (not exit_pv or hit.ts >= exit_ms)) or (not exit_pv and hit.ts >= exit_ms):
        row["exit_page"], exit_ms, exit_pv = hit.path, hit.ts, exit_pv or is_pageview
    return {"row": row, "exit_ms": exit_ms, "exit_pv": exit_pv}, is_entry


def advance(
    state: State | None,
    hit: EnrichedHit,
    visitor_key: str,
    *,
    timeout_s: int,
    max_s: int,
    now_ms: int,
    seen_limit: int = SEEN_LIMIT,
) -> Advanced:
    """Apply one non-bot hit to a visitor's state; see the module docstring for every rule.

    ``state`` is not modified (a new dict is returned). ``now_ms`` is processing time, used
    only to stamp ``touched_ms`` for eviction. Raises ``ValueError`` for a bot hit (bots are
    never sessionized).
    """
    if hit.is_bot:
        raise ValueError("bot hits are not sessionized")
    old = state if state is not None else new_state()
    digest, seen = event_hash(hit.event_id), seen_text(old["seen"])
    if remembers(seen, digest):
        return Advanced(old, [], [], "duplicate")
    visits: list[dict[str, Any]] = list(old["visits"])
    index = _find_visit(visits, hit.ts, timeout_s * 1000, max_s * 1000)
    if index is None:
        if hit.type is HitType.ENGAGEMENT:
            return Advanced(old, [], [], "orphan_engagement")
        visit, prev, is_entry = _open(hit, visitor_key), None, True
    else:
        before = visits.pop(index)
        prev = SessionRow(**before["row"])
        visit, is_entry = _join(before, hit)
    visits.append(visit)  # most recently touched last
    del visits[:-_MAX_VISITS]
    seen = _remember(seen, digest, seen_limit)
    row = SessionRow(**visit["row"])
    out = hit.model_copy(
        update={
            "session_id": row.session_id,
            "session_start_ms": row.start_ms,
            "is_entry": is_entry,
        }
    )
    new = {"v": STATE_FORMAT, "touched_ms": now_ms, "seen": seen, "visits": visits}
    return Advanced(new, [out], [SessionUpdate(prev=prev, cur=row)])


def mark_seen(
    state: State | None, event_id: str, *, now_ms: int, seen_limit: int = SEEN_LIMIT
) -> tuple[State, bool]:
    """Duplicate detection for a hit that is not sessionized (a bot's): ``(state, True)`` with
    the state unchanged when ``event_id`` was seen, else the state remembering it. Redelivered
    bot hits would otherwise be counted twice, since nothing else about them is stateful."""
    old = state if state is not None else new_state()
    digest, seen = event_hash(event_id), seen_text(old["seen"])
    if remembers(seen, digest):
        return old, True
    seen = _remember(seen, digest, seen_limit)
    return {**old, "v": STATE_FORMAT, "seen": seen, "touched_ms": now_ms}, False


def expire(
    state: State,
    *,
    now_ms: int,
    watermark_ms: int,
    timeout_s: int,
    margin_s: int = EVICTION_MARGIN_S,
) -> bool:
    """True when the state may be evicted: untouched for ``timeout_s + margin_s`` of processing
    time AND the partition's event-time watermark (highest hit time processed there since this
    worker got the partition) is that far past every remembered visit's end. Either condition
    alone could split a visit (see the module docstring)."""
    idle_ms = (timeout_s + margin_s) * 1000
    if now_ms - int(state.get("touched_ms", 0)) <= idle_ms:
        return False
    ends = [int(v["row"]["end_ms"]) for v in state.get("visits", ())]
    return watermark_ms - max(ends, default=0) > idle_ms
