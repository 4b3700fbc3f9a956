"""``POST /TrackingMCDT``: the push that one-stop systems already send to EMC, mapped onto
native dossier events (``RawDossierEvent`` on ``emc.dossiers.raw``). Pure functions, no I/O.

Why a module of its own: existing senders must be able to switch by changing only the host,
so this endpoint accepts their payload as it is (JSON object or array, form-encoded or
multipart form; field names in any letter case; unknown fields ignored) and does the mapping
documented in README "EMC-compatible push":

=================  ===========================================================================
``MaHoSo``         dossier code (``CodeProfile`` when ``MaHoSo`` is empty); required
``SiteId``         registered site id; required
``CodeTTHC``       procedure code (= ``ID MCDT`` of the service catalog)
``NameTTHC``       procedure name
``Status``         EMC push status 0–3 (``schemas.dossier_status.EMC_PUSH``); required
``FormsReception`` channel: 1 direct, 2 online, 3 postal (or the words)
``FormsPayments``  fee payment: 1 paid directly, 2 paid online, 0/empty unknown or no fee
``IsFromDVCQG``    true → source ``national_portal``
``IsDVCBC``        true → source ``dvc_portal``; neither flag and online → ``other``
``Digitized``      optional flag (true/false, 1/0): the dossier's papers were digitised
                   (Decision 766 "số hóa hồ sơ"); absent or empty = unknown
``Level``          0–4, checked but not used: the level comes from the default catalog
``Data``           optional JSON object (or a string holding one) with times
                   (``NgayNopHoSo``, ``NgayTiepNhan``, ``NgayHenTra``, ``NgayCoKetQua``,
                   ``NgayTraKetQua`` or the native names), ``agency``/``MaDonVi``,
                   ``admin_level``; times without a zone are the site's local time
``User``           accepted, not stored (an account name is personal data)
=================  ===========================================================================

The event time is the time ``Data`` gives for the pushed status (``NgayTiepNhan`` for 1,
``NgayTraKetQua`` for 3), else the receipt time. The event id is a hash of the payload, so the
same push sent twice is one event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import orjson
from pydantic import ValidationError

from ingest.requests import Grant, Limits, Message, RequestError, media_type
from schemas.common import to_epoch_ms
from schemas.dossier_status import from_emc_push
from schemas.dossiers import DossierStatus, RawDossierEvent
from schemas.sites import Site
from schemas.topics import dossier_key
from schemas.workbooks import NAIVE_DATE_FORMATS

FIELDS = (
    "MaHoSo", "CodeProfile", "SiteId", "CodeTTHC", "NameTTHC", "Status", "FormsReception",
    "FormsPayments", "Level", "IsFromDVCQG", "IsDVCBC", "Data", "User", "Digitized",
)  # fmt: skip
_CANONICAL = {name.lower(): name for name in FIELDS}
JSON_TYPES = frozenset({"application/json", "text/plain", "text/json"})
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"

#: ``FormsReception`` → channel (the national portal's channel codes).
CHANNELS = {"1": "direct", "2": "online", "3": "postal"}
#: ``FormsPayments`` → fee paid online (None = unknown or no fee).
PAYMENTS: dict[str, bool | None] = {"0": None, "1": False, "2": True}
#: Keys of ``Data`` (lower case) → native time field.
DATA_TIMES = {
    "ngaynophoso": "submitted_at",
    "submitted_at": "submitted_at",
    "ngaytiepnhan": "received_at",
    "received_at": "received_at",
    "ngayhentra": "due_at",
    "due_at": "due_at",
    "ngaycoketqua": "resolved_at",
    "ngayketthucxuly": "resolved_at",
    "resolved_at": "resolved_at",
    "ngaytraketqua": "returned_at",
    "returned_at": "returned_at",
}
_DATA_TEXT = {"agency": "agency", "madonvi": "agency", "admin_level": "admin_level"}
_ADMIN_LEVELS = frozenset({"central", "province", "district", "commune"})
#: Which time of ``Data`` is the event time of each status.
_STATUS_TIME = {
    DossierStatus.RECEIVED: "received_at",
    DossierStatus.RETURNED: "returned_at",
}


def _invalid(field: str, message: str) -> RequestError:
    return RequestError(422, f"{field}: {message}", reason="invalid_field", field=field)


def parse_body(body: bytes, content_type: str | None) -> list[dict[str, Any]]:
    """The pushed objects of a JSON (object or array) or form-encoded body. Multipart forms
    are parsed by the app (Starlette) and passed to ``build_events`` directly.
    Raises ``RequestError`` 415 / 400."""
    kind = media_type(content_type)
    stripped = body.strip()
    if not stripped:
        raise RequestError(400, "empty body", reason="malformed_body")
    if kind == FORM_TYPE:
        try:
            text = stripped.decode()
        except UnicodeDecodeError as exc:
            raise RequestError(
                400, f"body is not UTF-8 (byte {exc.start})", reason="malformed_body"
            ) from None
        return [dict(parse_qsl(text, keep_blank_values=True))]
    if kind and kind not in JSON_TYPES:
        raise RequestError(
            415,
            f"unsupported Content-Type {kind!r}; use application/json, "
            f"{FORM_TYPE} or {MULTIPART_TYPE}",
            reason="unsupported_media_type",
        )
    try:
        parsed = orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"body is not valid JSON: {exc}", reason="malformed_body") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items or not all(isinstance(item, dict) for item in items):
        raise RequestError(
            400, "expected a JSON object or an array of objects", reason="malformed_body"
        )
    return items


def _canonical(item: Mapping[str, Any]) -> dict[str, Any]:
    """Known fields under their canonical names (any letter case accepted)."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        name = _CANONICAL.get(str(key).strip().lower())
        if name is not None:
            out[name] = value
    return out


def _text(value: Any, field: str, limits: Limits) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(field, "expected text")
    text = str(value).strip()
    if len(text) > min(limits.max_field_chars, 512):
        raise _invalid(
            field, f"{len(text)} characters, more than {min(limits.max_field_chars, 512)}"
        )
    return text


def _code(value: Any, field: str) -> str:
    """A small integer code as text (``2``, ``"2"``, ``2.0`` → ``"2"``); "" when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, bool):
        raise _invalid(field, "expected a number code, got a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text


def _flag(value: Any, field: str) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise _invalid(field, f"{value!r} is not a flag (true/false, 1/0)")


def _time(value: Any, field: str, tz: str) -> int | None:
    """Epoch ms of an RFC 3339 time, epoch ms, or a zone-less local time of the site."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        for fmt in NAIVE_DATE_FORMATS:
            try:
                naive = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return to_epoch_ms(naive.replace(tzinfo=ZoneInfo(tz)))
    try:
        return to_epoch_ms(value)
    except ValueError as exc:
        raise _invalid(field, f"{exc}; or a local time YYYY-MM-DD HH:MM:SS / DD/MM/YYYY") from None


def _data(value: Any) -> dict[str, Any]:
    """``Data`` as a dict: a JSON object, or a string holding one; anything else is free text
    that EMC allowed, and carries nothing we read."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def to_event(
    item: Mapping[str, Any],
    sites: Mapping[str, Site],
    grant: Grant | None,
    now_ms: int,
    limits: Limits,
) -> RawDossierEvent:
    """One pushed object → the native raw event. Raises ``RequestError`` (422 naming the EMC
    field; 403 when the token is not valid for the site)."""
    fields = _canonical(item)
    site_id = _text(fields.get("SiteId"), "SiteId", limits)
    if not site_id:
        raise _invalid("SiteId", "required (the registered site id)")
    if grant is not None and not grant.allows(site_id):
        raise RequestError(
            403,
            f"SiteId: the token is not valid for site {site_id!r}",
            reason="forbidden_site",
            field="SiteId",
        )
    site = sites.get(site_id)
    if site is None:
        raise RequestError(
            422, f"SiteId: unknown site {site_id!r}", reason="unknown_site", field="SiteId"
        )
    code = _text(fields.get("MaHoSo"), "MaHoSo", limits) or _text(
        fields.get("CodeProfile"), "CodeProfile", limits
    )
    if not code:
        raise _invalid("MaHoSo", "required (the dossier code; or CodeProfile)")
    status_code = _code(fields.get("Status"), "Status")
    if not status_code:
        raise _invalid("Status", "required, one of 0, 1, 2, 3")
    try:
        status = from_emc_push(int(status_code))
    except ValueError:
        raise _invalid("Status", f"{status_code!r} is not one of 0, 1, 2, 3") from None
    reception = _code(fields.get("FormsReception"), "FormsReception").lower()
    channel = CHANNELS.get(reception, reception if reception in CHANNELS.values() else None)
    if reception and channel is None:
        raise _invalid("FormsReception", f"{reception!r} is not 1 (direct), 2 (online), 3 (postal)")
    payment = _code(fields.get("FormsPayments"), "FormsPayments") or "0"
    if payment not in PAYMENTS:
        raise _invalid("FormsPayments", f"{payment!r} is not 0, 1 (direct) or 2 (online)")
    level = _code(fields.get("Level"), "Level")
    if level and level not in ("0", "1", "2", "3", "4"):
        raise _invalid("Level", f"{level!r} is not a service level 0-4")
    if _flag(fields.get("IsFromDVCQG"), "IsFromDVCQG"):
        source: str | None = "national_portal"
    elif _flag(fields.get("IsDVCBC"), "IsDVCBC"):
        source = "dvc_portal"
    else:
        source = "other" if channel == "online" else None
    digitized_value = fields.get("Digitized")
    digitized = (
        None
        if digitized_value is None or digitized_value == ""
        else _flag(digitized_value, "Digitized")
    )
    data = _data(fields.get("Data"))
    times: dict[str, int | None] = {}
    extra: dict[str, str] = {}
    for key, value in data.items():
        lower = str(key).strip().lower()
        if lower in DATA_TIMES:
            times[DATA_TIMES[lower]] = _time(value, f"Data.{key}", site.timezone)
        elif lower in _DATA_TEXT:
            extra[_DATA_TEXT[lower]] = _text(value, f"Data.{key}", limits)
    admin_level = extra.get("admin_level", "").lower() or None
    if admin_level is not None and admin_level not in _ADMIN_LEVELS:
        raise _invalid("Data.admin_level", f"{admin_level!r} is not one of {sorted(_ADMIN_LEVELS)}")
    time_field = _STATUS_TIME.get(status)
    ts = (times.get(time_field) if time_field else None) or now_ms
    identity = orjson.dumps(
        [site_id, code, status_code, {k: fields[k] for k in sorted(fields) if k != "User"}],
        default=str,
    )
    event_id = "mcdt-" + hashlib.sha256(identity).hexdigest()[:32]
    try:
        return _raw_event(
            {
                "event_id": event_id,
                "site": site_id,
                "dossier_code": code,
                "procedure_code": _text(fields.get("CodeTTHC"), "CodeTTHC", limits),
                "procedure_name": _text(fields.get("NameTTHC"), "NameTTHC", limits),
                "status": status,
                "ts": ts,
                "channel": channel,
                "source": source,
                "agency": extra.get("agency", ""),
                "admin_level": admin_level,
                "fee_paid_online": PAYMENTS[payment],
                "digitized": digitized,
                **{name: value for name, value in times.items() if value is not None},
                "tz": site.timezone,
                "received_ms": now_ms,
            }
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(push)"
        raise _invalid(where, str(first["msg"])) from None


def _raw_event(values: dict[str, Any]) -> RawDossierEvent:
    return RawDossierEvent.model_validate(values)


def build_messages(
    items: list[dict[str, Any]],
    *,
    sites: Mapping[str, Site],
    grant: Grant | None,
    now_ms: int,
    limits: Limits,
) -> list[Message]:
    """Every pushed object → its Kafka message, or ``RequestError`` for the first bad one
    (the whole push is refused, so a sender's retry resends all of it). A batch names the
    0-based item index in the message."""
    if len(items) > limits.max_batch_lines:
        raise RequestError(
            413,
            f"push has {len(items)} objects, more than EMC_MAX_BATCH_LINES="
            f"{limits.max_batch_lines}",
            reason="too_many_lines",
        )
    messages: list[Message] = []
    for index, item in enumerate(items):
        try:
            event = to_event(item, sites, grant, now_ms, limits)
        except RequestError as exc:
            if len(items) > 1:
                exc.error = f"[{index}].{exc.error}"
            raise
        payload = orjson.dumps(event.model_dump(mode="json"))
        messages.append((dossier_key(event.site, event.dossier_code), payload))
    return messages


def site_ids(items: list[dict[str, Any]]) -> list[str]:
    """The ``SiteId`` values of the pushed objects (to refresh the site cache)."""
    out = []
    for item in items:
        value = _canonical(item).get("SiteId")
        if isinstance(value, str | int) and not isinstance(value, bool):
            out.append(str(value).strip())
    return out
