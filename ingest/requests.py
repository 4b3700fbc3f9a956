"""Building and validating collector requests: pure functions of (raw HTTP parts, now).

Nothing here does I/O. The app reads the body, looks up the sites and calls these functions;
what comes back is either Kafka messages ``(key, value)`` ready for ``producer.send_batch`` or
a ``RequestError`` (whole request refused) / ``Rejection`` (one line refused) that names the
field, the 1-based line and a counted reason. Valid lines beside invalid ones are accepted.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ValidationError

from core.settings import Settings
from ingest.visitor import visitor_ids
from schemas.dossiers import DossierEventIn, RawDossierEvent
from schemas.hits import BEACON_TYPES as BEACON_HIT_TYPES
from schemas.hits import BeaconHit, HitType, ServerHit, event_props
from schemas.ratings import RatingError, is_rating, rating_name
from schemas.sites import Site
from schemas.topics import dossier_key, hit_key

Message = tuple[bytes, bytes]
_H = TypeVar("_H", BeaconHit, ServerHit)

#: Media types accepted by each endpoint (without parameters, lower case).
BEACON_TYPES = frozenset({"text/plain", "application/json"})
BATCH_TYPES = frozenset({"application/x-ndjson", "text/plain", "application/json"})

#: Long names of the beacon's one-letter keys, so errors name the field people know.
_BEACON_NAMES = {
    "s": "site",
    "u": "url",
    "r": "referrer",
    "t": "type",
    "n": "name",
    "v": "visitor_id",
    "w": "screen_width",
    "p": "props",
    "x": "value",
}


def _rating(line: int, hit: _H, prefix: str) -> tuple[_H, Rejection | None]:
    """A rating event (``schemas.ratings``) with its canonical name, or the rejection naming
    the field (``p.score`` for the beacon, ``props.score`` for ``/v1/hits``). Other hits pass
    unchanged (one string comparison on the hot path)."""
    if hit.type is not HitType.EVENT or not is_rating(hit.name):
        return hit, None
    try:
        name = rating_name(hit.name, hit.props)
    except RatingError as exc:
        field_name = prefix + exc.field[1:] if exc.field.startswith("p") else exc.field
        return hit, Rejection(line, field_name, str(exc), "invalid_rating")
    return hit.model_copy(update={"name": name}), None


def _new_event_id() -> str:
    """A random UUID4 as 32 hex digits (uuid.uuid4().hex, without building a UUID object)."""
    value = int.from_bytes(os.urandom(16), "big")
    value = (value & _UUID4_CLEAR) | _UUID4_SET
    return f"{value:032x}"


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


@dataclass(frozen=True, slots=True)
class Limits:
    """Request limits (``EMC_MAX_*``)."""

    max_body_bytes: int = 5_000_000
    max_batch_lines: int = 10_000
    max_field_chars: int = 2048

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.max_body_bytes, settings.max_batch_lines, settings.max_field_chars)


class RequestError(Exception):
    """The whole request is refused with ``status``; ``reason`` is the counted reason."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        reason: str,
        field: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.reason = reason
        self.field = field
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error, "reason": self.reason}
        if self.field is not None:
            out["field"] = self.field
        out.update(self.extra)
        return out


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused line: 1-based ``line``, the ``field`` at fault, a message and a reason."""

    line: int
    field: str
    error: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "error": self.error, "reason": self.reason}


@dataclass(slots=True)
class BatchResult:
    """Outcome of one batch: the messages to produce and the refused lines."""

    messages: list[Message] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def status(self) -> int:
        """202 when any line is accepted; else 403 when every refusal is a token/site
        mismatch, else 422."""
        if self.messages:
            return 202
        if self.rejected and all(r.reason == "forbidden_site" for r in self.rejected):
            return 403
        return 422

    def body(self) -> dict[str, Any]:
        """``accepted`` and per-line ``rejected``; a 4xx (nothing accepted) also carries the
        project's ``error`` message, naming the first refused line."""
        out: dict[str, Any] = {
            "accepted": len(self.messages),
            "rejected": [r.as_json() for r in self.rejected],
        }
        if not self.messages:
            first = self.rejected[0] if self.rejected else None
            out["error"] = (
                f"no line accepted; line {first.line}, {first.field}: {first.error}"
                if first
                else "no line accepted"
            )
        return out


@dataclass(frozen=True, slots=True)
class Grant:
    """What a bearer token may send: every site (admin) or the sites whose token it is."""

    all_sites: bool
    sites: frozenset[str] = frozenset()

    def allows(self, site: str) -> bool:
        return self.all_sites or site in self.sites


# --------------------------------------------------------------------------- headers


def media_type(content_type: str | None) -> str:
    """``text/plain; charset=UTF-8`` → ``text/plain``; missing → ``""``."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def check_content_length(header: str | None, limits: Limits) -> None:
    """Refuse early (413) when the announced body is over ``max_body_bytes``; 400 when the
    header is not a number. The body is counted again while reading (the header may lie)."""
    if header is None:
        return
    try:
        length = int(header)
    except ValueError:
        raise RequestError(400, "Content-Length is not a number", reason="malformed_body") from None
    if length > limits.max_body_bytes:
        raise body_too_large(limits)


def body_too_large(limits: Limits) -> RequestError:
    return RequestError(
        413,
        f"body larger than EMC_MAX_BODY_BYTES={limits.max_body_bytes} bytes",
        reason="body_too_large",
        extra={"limit": limits.max_body_bytes},
    )


def token_sites(sites: Iterable[Site]) -> dict[str, frozenset[str]]:
    """Map each non-empty site ingest token to the sites that use it."""
    out: dict[str, set[str]] = {}
    for site in sites:
        if site.ingest_token:
            out.setdefault(site.ingest_token, set()).add(site.id)
    return {token: frozenset(ids) for token, ids in out.items()}


def authorize(
    authorization: str | None, admin_token: str, tokens: Mapping[str, frozenset[str]]
) -> Grant:
    """The grant of an ``Authorization: Bearer <token>`` header; 401 when missing or unknown."""
    if not authorization:
        raise RequestError(401, "missing Authorization: Bearer <token>", reason="unauthorized")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise RequestError(401, "expected Authorization: Bearer <token>", reason="unauthorized")
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Grant(all_sites=True)
    sites = tokens.get(token)
    if not sites:
        raise RequestError(401, "unknown token", reason="unauthorized")
    return Grant(all_sites=False, sites=sites)


# --------------------------------------------------------------------------- bodies


def _too_many(count: int, limits: Limits) -> RequestError:
    return RequestError(
        413,
        f"batch has {count} lines, more than EMC_MAX_BATCH_LINES={limits.max_batch_lines}",
        reason="too_many_lines",
        extra={"limit": limits.max_batch_lines},
    )


_NOT_JSON = object()


def parse_batch(body: bytes, content_type: str | None, limits: Limits) -> list[tuple[int, Any]]:
    """Split a batch body into ``(line number, parsed JSON or Rejection)``.

    NDJSON (``application/x-ndjson`` or ``text/plain``): one JSON object per line, blank lines
    skipped, line numbers are physical lines. A JSON array (``application/json``, or any
    accepted type whose body starts with ``[`` and parses as one array): line = 1-based index.
    under ``application/json`` is one line. Raises ``RequestError`` 415 / 400 / 413.
    """
    kind = media_type(content_type)
    if kind not in BATCH_TYPES:
        raise RequestError(
            415,
            f"unsupported Content-Type {kind or '(none)'!r}; use application/x-ndjson, "
            "text/plain (one JSON object per line) or application/json (an array)",
            reason="unsupported_media_type",
        )
    stripped = body.strip()
    if not stripped:
        raise RequestError(400, "empty body", reason="malformed_body")
    parsed: Any = _NOT_JSON
    if stripped[:1] == b"[" or kind == "application/json":
        try:
            parsed = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            # NDJSON whose first line is an array is read line by line below, so the good
            # lines of it are kept; an application/json body must be one document
            if kind == "application/json":
                raise RequestError(
                    400, f"body is not valid JSON: {exc}", reason="malformed_body"
                ) from None
    if parsed is not _NOT_JSON:
        items = parsed if isinstance(parsed, list) else [parsed]
        if len(items) > limits.max_batch_lines:
            raise _too_many(len(items), limits)
        if not items:
            raise RequestError(400, "empty JSON array", reason="malformed_body")
        return list(enumerate(items, start=1))
    lines = body.split(b"\n")
    count = sum(1 for raw in lines if raw.strip())
    if count > limits.max_batch_lines:
        raise _too_many(count, limits)
    # invalid UTF-8 is judged per line: one mangled line must not cost the good lines beside it
    out: list[tuple[int, Any]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            out.append((number, orjson.loads(raw)))
        except orjson.JSONDecodeError as exc:
            try:
                raw.decode()
                error = f"invalid JSON: {exc}"
            except UnicodeDecodeError as bad:
                error = f"line is not UTF-8 (byte {bad.start})"
            out.append((number, Rejection(number, "line", error, "invalid_json")))
    return out


def parse_beacon_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The JSON object of a beacon POST (``text/plain`` as sent by ``sendBeacon``, or
    ``application/json``; a missing type is read as text). 415 / 400 otherwise."""
    kind = media_type(content_type)
    if kind and kind not in BEACON_TYPES:
        raise RequestError(
            415,
            f"unsupported Content-Type {kind!r}; use text/plain or application/json",
            reason="unsupported_media_type",
        )
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"body is not valid JSON: {exc}", reason="malformed_body") from None
    if not isinstance(parsed, dict):
        raise RequestError(400, "expected one JSON object", reason="malformed_body")
    return parsed


# --------------------------------------------------------------------------- validation


def _validation_rejection(
    line: int, exc: ValidationError, names: Mapping[str, str] | None = None
) -> Rejection:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = [str(part) for part in first["loc"]]
    if loc and names:
        loc[0] = names.get(loc[0], loc[0])
    name = ".".join(loc) or "line"
    message = str(first["msg"])
    if len(errors) > 1:
        others = sorted({".".join(str(p) for p in e["loc"]) or "line" for e in errors[1:]})
        message += f" (also invalid: {', '.join(others)})"
    return Rejection(line, name, message, "invalid_field")


def _long_field(line: int, model: BaseModel, max_chars: int) -> Rejection | None:
    """The first text field (in declaration order) longer than ``max_chars`` (per-hit hot
    path: one pass over the validated values; enum values are short by construction)."""
    for name, value in model.__dict__.items():
        if type(value) is str and len(value) > max_chars:
            return Rejection(
                line,
                name,
                f"{len(value)} characters, more than EMC_MAX_FIELD_CHARS={max_chars}",
                "field_too_long",
            )
    return None


@lru_cache(maxsize=1 << 14)
def _url_host(url: str) -> str | None:
    """The lower-case host of an absolute http(s) URL, else None (cached: URLs repeat)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return host


def _site_checks(
    line: int,
    site_id: str,
    url: str | None,
    grant: Grant | None,
    sites: Mapping[str, Site],
) -> tuple[Site | None, Rejection | None]:
    if grant is not None and not grant.allows(site_id):
        return None, Rejection(
            line, "site", f"the token is not valid for site {site_id!r}", "forbidden_site"
        )
    site = sites.get(site_id)
    if site is None:
        return None, Rejection(line, "site", f"unknown site {site_id!r}", "unknown_site")
    if url is not None:
        host = _url_host(url)
        if host is None:
            return None, Rejection(line, "url", "expected an absolute http(s) URL", "invalid_field")
        if not site.owns_host(host):
            return None, Rejection(
                line,
                "url",
                f"host {host!r} is not a domain of site {site_id!r}",
                "foreign_domain",
            )
    return site, None


def _hit_message(
    secret: bytes,
    site: Site,
    *,
    ts_ms: int,
    received_ms: int,
    event_id: str,
    hit: BeaconHit | ServerHit,
    ip: str,
    ua: str,
    source: Literal["beacon", "server"],
) -> Message:
    ids = visitor_ids(
        secret,
        site=site.id,
        ip=ip,
        ua=ua,
        ts_ms=ts_ms,
        tz=site.timezone,
        explicit_id=hit.visitor_id,
    )
    # Same keys, order and JSON values as RawHit(...).model_dump(mode="json") (a unit test
    # checks the bytes); built directly because this is the per-hit hot path.
    raw = {
        "event_id": event_id,
        "site": site.id,
        "tz": site.timezone,
        "ts": ts_ms,
        "received_ms": received_ms,
        "type": hit.type.value,
        "name": hit.name,
        "url": hit.url,
        "referrer": hit.referrer,
        "ip": ip,
        "ua": ua,
        "visitor_id": ids.visitor_id,
        "prev_visitor_id": ids.prev_visitor_id,
        "explicit_visitor": ids.explicit,
        "source": source,
        "screen_width": hit.screen_width,
        "props": event_props(hit.props),
        "value": hit.value,
    }
    return hit_key(site.id, ids.visitor_key), orjson.dumps(raw)


def build_beacon(
    params: Mapping[str, Any],
    *,
    ip: str,
    ua: str,
    now_ms: int,
    sites: Mapping[str, Site],
    limits: Limits,
    secret: bytes,
    new_id: Callable[[], str] = _new_event_id,
    ts_ms: int | None = None,
) -> Message:
    """One beacon hit (POST body object or pixel query) → its Kafka message.

    ``ts_ms`` (default ``now_ms``) is the hit's own time when a trusted sender gave one
    (the Matomo protocol's ``cdt`` with a valid token).

    IP is the client IP, UA the User-Agent header, time is ``now_ms``. Raises ``RequestError``
    422 naming the field (``reason`` unknown_site / foreign_domain / invalid_field /
    field_too_long)."""
    code = params.get("t")
    if isinstance(code, str) and code in BEACON_HIT_TYPES:
        params = {**params, "t": BEACON_HIT_TYPES[code].value}
    try:
        hit = BeaconHit.model_validate(params)
    except ValidationError as exc:
        raise _as_error(_validation_rejection(1, exc, _BEACON_NAMES)) from None
    hit, rejection = _rating(1, hit, "p")
    if rejection is None:
        rejection = _long_field(1, hit, limits.max_field_chars)
    if rejection is None and len(ua) > limits.max_field_chars:
        rejection = Rejection(
            1,
            "ua",
            f"User-Agent longer than EMC_MAX_FIELD_CHARS={limits.max_field_chars}",
            "field_too_long",
        )
    if rejection is not None:
        raise _as_error(rejection)
    site, rejection = _site_checks(1, hit.site, hit.url, None, sites)
    if rejection is not None or site is None:
        raise _as_error(rejection or Rejection(1, "site", "unknown site", "unknown_site"))
    return _hit_message(
        secret,
        site,
        ts_ms=now_ms if ts_ms is None else ts_ms,
        received_ms=now_ms,
        event_id=new_id(),
        hit=hit,
        ip=ip,
        ua=ua,
        source="beacon",
    )


def _as_error(rejection: Rejection) -> RequestError:
    return RequestError(422, rejection.error, reason=rejection.reason, field=rejection.field)


def build_server_hits(
    items: Iterable[tuple[int, Any]],
    *,
    grant: Grant,
    now_ms: int,
    sites: Mapping[str, Site],
    limits: Limits,
    secret: bytes,
    new_id: Callable[[], str] = _new_event_id,
) -> BatchResult:
    """Lines of ``POST /v1/hits`` (from ``parse_batch``) → messages and per-line rejections.
    The visitor's IP and UA are the line's ``ip`` / ``ua``; time is the line's ``ts``."""
    result = BatchResult()
    max_chars = limits.max_field_chars
    for line, item in items:
        if isinstance(item, Rejection):
            result.rejected.append(item)
            continue
        if not isinstance(item, dict):
            result.rejected.append(
                Rejection(line, "line", "expected a JSON object", "invalid_field")
            )
            continue
        try:
            hit = ServerHit.model_validate(item)
        except ValidationError as exc:
            result.rejected.append(_validation_rejection(line, exc))
            continue
        hit, rejection = _rating(line, hit, "props")
        if rejection is None:
            rejection = _long_field(line, hit, max_chars)
        site: Site | None = None
        if rejection is None:
            site, rejection = _site_checks(line, hit.site, hit.url, grant, sites)
        if rejection is not None or site is None:
            result.rejected.append(rejection or Rejection(line, "site", "?", "unknown_site"))
            continue
        result.messages.append(
            _hit_message(
                secret,
                site,
                ts_ms=hit.ts,
                received_ms=now_ms,
                event_id=hit.event_id or new_id(),
                hit=hit,
                ip=hit.ip,
                ua=hit.ua,
                source="server",
            )
        )
    return result


def build_dossiers(
    items: Iterable[tuple[int, Any]],
    *,
    grant: Grant,
    now_ms: int,
    sites: Mapping[str, Site],
    limits: Limits,
) -> BatchResult:
    """Lines of ``POST /v1/dossiers`` → messages keyed by (site, dossier code) and rejections."""
    result = BatchResult()
    for line, item in items:
        if isinstance(item, Rejection):
            result.rejected.append(item)
            continue
        if not isinstance(item, dict):
            result.rejected.append(
                Rejection(line, "line", "expected a JSON object", "invalid_field")
            )
            continue
        try:
            event = DossierEventIn.model_validate(item)
        except ValidationError as exc:
            result.rejected.append(_validation_rejection(line, exc))
            continue
        rejection = _long_field(line, event, limits.max_field_chars)
        site: Site | None = None
        if rejection is None:
            site, rejection = _site_checks(line, event.site, None, grant, sites)
        if rejection is not None or site is None:
            result.rejected.append(rejection or Rejection(line, "site", "?", "unknown_site"))
            continue
        raw = RawDossierEvent.model_construct(
            **event.__dict__, tz=site.timezone, received_ms=now_ms
        )
        result.messages.append(
            (dossier_key(site.id, event.dossier_code), orjson.dumps(raw.model_dump(mode="json")))
        )
    return result


def site_ids_in(items: Iterable[tuple[int, Any]]) -> set[str]:
    """The ``site`` values named by parsed lines (to refresh the site cache for unknown ones)."""
    out: set[str] = set()
    for _, item in items:
        if isinstance(item, dict):
            value = item.get("site", item.get("s"))
            if isinstance(value, str):
                out.add(value.strip())
    return out
