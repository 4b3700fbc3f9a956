"""Request building and validation (pure): bodies, per-line errors, limits, sites, tokens."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ingest.requests import (
    Grant,
    Limits,
    Rejection,
    RequestError,
    authorize,
    build_beacon,
    build_dossiers,
    build_server_hits,
    check_content_length,
    media_type,
    parse_batch,
    parse_beacon_body,
    site_ids_in,
    token_sites,
)
from ingest.visitor import visitor_ids
from schemas.dossiers import RawDossierEvent
from schemas.hits import RawHit
from schemas.sites import Site, SiteType
from schemas.topics import dossier_key, hit_key

SECRET = b"k"
NOW = 1_780_000_000_000
LIMITS = Limits(max_body_bytes=10_000, max_batch_lines=5, max_field_chars=100)
SITES = {
    "a": Site(
        id="a", name="A", type=SiteType.PORTAL, domains=("a.gov.vn", "*.a.vn"), ingest_token="tok-a"
    ),
    "b": Site(id="b", name="B", type=SiteType.ONESTOP, timezone="UTC", ingest_token="tok-b"),
}
ADMIN = Grant(all_sites=True)


def _line(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "site": "a",
        "url": "https://a.gov.vn/x?q=1",
        "ts": "2026-03-01T08:00:00+07:00",
        "ip": "198.51.100.1",
        "ua": "Mozilla/5.0",
    }
    base.update(over)
    return base


def _ndjson(*lines: Any) -> bytes:
    return b"\n".join(orjson.dumps(line) for line in lines)


def _hits(body: bytes, grant: Grant = ADMIN, ctype: str = "application/x-ndjson") -> Any:
    items = parse_batch(body, ctype, LIMITS)
    return build_server_hits(
        items,
        grant=grant,
        now_ms=NOW,
        sites=SITES,
        limits=LIMITS,
        secret=SECRET,
        new_id=lambda: "gen",
    )


# ------------------------------------------------------------------ content types and bodies


def test_media_type_strips_parameters() -> None:
    assert media_type("Text/Plain; charset=UTF-8") == "text/plain"
    assert media_type(None) == ""


@pytest.mark.parametrize("ctype", ["application/xml", "multipart/form-data", None])
def test_batch_refuses_other_content_types(ctype: str | None) -> None:
    with pytest.raises(RequestError) as info:
        parse_batch(_ndjson(_line()), ctype, LIMITS)
    assert info.value.status == 415
    assert info.value.reason == "unsupported_media_type"


def test_ndjson_and_text_plain_and_array_are_equivalent() -> None:
    ndjson = parse_batch(_ndjson(_line(), _line()), "application/x-ndjson", LIMITS)
    text = parse_batch(_ndjson(_line(), _line()), "text/plain; charset=utf-8", LIMITS)
    array = parse_batch(orjson.dumps([_line(), _line()]), "application/json", LIMITS)
    assert ndjson == text == array == [(1, _line()), (2, _line())]


def test_ndjson_lines_keep_physical_numbers_and_skip_blanks() -> None:
    body = _ndjson(_line()) + b"\n\n" + _ndjson(_line(url="https://a.gov.vn/2")) + b"\n"
    assert [n for n, _ in parse_batch(body, "application/x-ndjson", LIMITS)] == [1, 3]


def test_ndjson_bad_json_line_is_a_line_rejection() -> None:
    items = parse_batch(_ndjson(_line()) + b"\n{oops", "application/x-ndjson", LIMITS)
    assert isinstance(items[1][1], Rejection)
    assert items[1][1].line == 2
    assert items[1][1].reason == "invalid_json"


@pytest.mark.parametrize("body", [b"", b"   ", b"[1, 2", b"{nope"])
def test_malformed_json_body_is_400(body: bytes) -> None:
    with pytest.raises(RequestError) as info:
        parse_batch(body, "application/json", LIMITS)
    assert info.value.status == 400


def test_a_non_utf8_ndjson_line_is_rejected_alone() -> None:
    items = parse_batch(b'{"a": "\xff"}\n{"b": 1}', "application/x-ndjson", LIMITS)
    assert items[1] == (2, {"b": 1})
    rejection = items[0][1]
    assert isinstance(rejection, Rejection)
    assert (rejection.line, rejection.field, rejection.reason) == (1, "line", "invalid_json")
    assert "not UTF-8 (byte 7)" in rejection.error


def test_ndjson_whose_first_line_is_an_array_is_read_line_by_line() -> None:
    items = parse_batch(b'[]\n{"b": 1}', "application/x-ndjson", LIMITS)
    assert items == [(1, []), (2, {"b": 1})]
    with pytest.raises(RequestError) as info:
        parse_batch(b'[]\n{"b": 1}', "application/json", LIMITS)
    assert info.value.status == 400


def test_too_many_lines_is_413_naming_the_limit() -> None:
    for body, ctype in (
        (_ndjson(*[_line()] * 6), "application/x-ndjson"),
        (orjson.dumps([_line()] * 6), "application/json"),
    ):
        with pytest.raises(RequestError) as info:
            parse_batch(body, ctype, LIMITS)
        assert info.value.status == 413
        assert "EMC_MAX_BATCH_LINES=5" in info.value.error
        assert info.value.body()["limit"] == 5


def test_content_length_checked_early() -> None:
    check_content_length("10000", LIMITS)
    check_content_length(None, LIMITS)
    with pytest.raises(RequestError) as info:
        check_content_length("10001", LIMITS)
    assert info.value.status == 413
    assert "EMC_MAX_BODY_BYTES" in info.value.error
    with pytest.raises(RequestError) as bad:
        check_content_length("abc", LIMITS)
    assert bad.value.status == 400


# ------------------------------------------------------------------ tokens


def test_authorize_admin_site_token_and_failures() -> None:
    tokens = token_sites(SITES.values())
    assert authorize("Bearer adm", "adm", tokens).all_sites
    grant = authorize("bearer tok-a", "adm", tokens)
    assert not grant.all_sites and grant.allows("a") and not grant.allows("b")
    for header in (None, "", "Basic xyz", "Bearer ", "Bearer nope"):
        with pytest.raises(RequestError) as info:
            authorize(header, "adm", tokens)
        assert info.value.status == 401


def test_empty_ingest_token_grants_nothing() -> None:
    sites = [Site(id="c", name="C", type=SiteType.PORTAL)]
    assert token_sites(sites) == {}


# ------------------------------------------------------------------ server hits


def test_valid_hit_message_key_and_value() -> None:
    result = _hits(_ndjson(_line(event_id="e1")))
    assert result.status == 202 and result.rejected == []
    key, value = result.messages[0]
    ts = 1_772_326_800_000  # 2026-03-01T01:00:00Z
    ids = visitor_ids(
        SECRET, site="a", ip="198.51.100.1", ua="Mozilla/5.0", ts_ms=ts, tz="Asia/Ho_Chi_Minh"
    )
    assert key == hit_key("a", ids.visitor_key)
    expected = RawHit(
        event_id="e1",
        site="a",
        tz="Asia/Ho_Chi_Minh",
        ts=ts,
        received_ms=NOW,
        type="pageview",
        url="https://a.gov.vn/x?q=1",
        ip="198.51.100.1",
        ua="Mozilla/5.0",
        visitor_id=ids.visitor_id,
        prev_visitor_id=ids.prev_visitor_id,
        source="server",
    )
    assert orjson.loads(value) == expected.model_dump(mode="json")
    assert value == orjson.dumps(expected.model_dump(mode="json"))


def test_epoch_ms_and_generated_event_id() -> None:
    result = _hits(_ndjson(_line(ts=1_772_326_800_000)))
    value = orjson.loads(result.messages[0][1])
    assert value["ts"] == 1_772_326_800_000
    assert value["event_id"] == "gen"


def test_explicit_visitor_id_is_hashed_and_used_as_key() -> None:
    result = _hits(_ndjson(_line(visitor_id="u-1")))
    key, value = result.messages[0]
    decoded = orjson.loads(value)
    assert decoded["explicit_visitor"] is True
    assert key == hit_key("a", decoded["visitor_id"])
    assert decoded["visitor_id"] != "u-1"


def test_three_good_two_bad_lines() -> None:
    body = _ndjson(
        _line(),
        _line(ts="yesterday"),
        _line(url="https://x.a.vn/p"),
        _line(url="https://b.gov.vn/"),
        _line(url="https://a.vn/"),
    )
    result = _hits(body)
    assert len(result.messages) == 3
    assert result.status == 202
    assert [(r.line, r.field, r.reason) for r in result.rejected] == [
        (2, "ts", "invalid_field"),
        (4, "url", "foreign_domain"),
    ]
    assert result.body()["accepted"] == 3
    assert result.body()["rejected"][0]["line"] == 2


def test_invalid_enum_value_named() -> None:
    result = _hits(_ndjson(_line(type="click")))
    assert (result.rejected[0].field, result.status) == ("type", 422)


def test_no_valid_line_is_422_with_same_body() -> None:
    result = _hits(_ndjson(_line(site="zzz"), {"site": "a"}))
    assert result.status == 422
    assert result.body() == {
        "accepted": 0,
        "rejected": [
            {"line": 1, "field": "site", "error": "unknown site 'zzz'", "reason": "unknown_site"},
            {
                "line": 2,
                "field": "url",
                "error": "Field required (also invalid: ts)",
                "reason": "invalid_field",
            },
        ],
        "error": "no line accepted; line 1, site: unknown site 'zzz'",
    }


def test_unknown_field_named() -> None:
    result = _hits(_ndjson(_line(colour="red")))
    assert result.rejected[0].field == "colour"


def test_field_longer_than_limit_named() -> None:
    result = _hits(_ndjson(_line(ua="x" * 101), _line(referrer="https://r/" + "y" * 200)))
    assert [(r.field, r.reason) for r in result.rejected] == [
        ("ua", "field_too_long"),
        ("referrer", "field_too_long"),
    ]
    assert "EMC_MAX_FIELD_CHARS=100" in result.rejected[0].error


def test_url_must_be_absolute_http() -> None:
    result = _hits(_ndjson(_line(url="/relative"), _line(url="ftp://a.gov.vn/")))
    assert [r.field for r in result.rejected] == ["url", "url"]


def test_site_token_only_for_its_site() -> None:
    grant = Grant(all_sites=False, sites=frozenset({"b"}))
    mixed = _hits(_ndjson(_line(), _line()), grant=grant)
    assert mixed.status == 403
    assert {r.reason for r in mixed.rejected} == {"forbidden_site"}
    own = Grant(all_sites=False, sites=frozenset({"a"}))
    result = _hits(_ndjson(_line(), _line(site="b", url="https://a.gov.vn/")), grant=own)
    assert result.status == 202
    assert [(r.line, r.reason) for r in result.rejected] == [(2, "forbidden_site")]


def test_non_object_line() -> None:
    result = _hits(b"[1, " + orjson.dumps(_line()) + b"]", ctype="application/json")
    assert result.rejected[0].line == 1 and result.rejected[0].field == "line"
    assert len(result.messages) == 1


def test_site_ids_in() -> None:
    assert site_ids_in([(1, {"site": " a "}), (2, [1]), (3, Rejection(3, "", "", ""))]) == {"a"}


# ------------------------------------------------------------------ beacon


def _beacon(params: dict[str, Any], ua: str = "UA") -> tuple[bytes, bytes]:
    return build_beacon(
        params,
        ip="203.0.113.5",
        ua=ua,
        now_ms=NOW,
        sites=SITES,
        limits=LIMITS,
        secret=SECRET,
        new_id=lambda: "bid",
    )


def test_beacon_uses_client_ip_ua_and_now() -> None:
    key, value = _beacon({"s": "a", "u": "https://a.gov.vn/", "t": "e", "n": "click", "w": "1280"})
    decoded = orjson.loads(value)
    assert decoded["ip"] == "203.0.113.5" and decoded["ua"] == "UA"
    assert decoded["ts"] == decoded["received_ms"] == NOW
    assert decoded["type"] == "event" and decoded["name"] == "click"
    assert decoded["screen_width"] == 1280 and decoded["source"] == "beacon"
    ids = visitor_ids(SECRET, site="a", ip="203.0.113.5", ua="UA", ts_ms=NOW, tz="Asia/Ho_Chi_Minh")
    assert key == hit_key("a", ids.visitor_key)


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"u": "https://a.gov.vn/"}, "site", "invalid_field"),
        ({"s": "a"}, "url", "invalid_field"),
        ({"s": "a", "u": "https://a.gov.vn/", "t": "x"}, "type", "invalid_field"),
        ({"s": "nope", "u": "https://a.gov.vn/"}, "site", "unknown_site"),
        ({"s": "a", "u": "https://evil.example/"}, "url", "foreign_domain"),
        ({"s": "a", "u": "https://a.gov.vn/" + "z" * 100}, "url", "field_too_long"),
    ],
)
def test_beacon_errors_name_the_field(params: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(RequestError) as info:
        _beacon(params)
    assert info.value.status == 422
    assert (info.value.field, info.value.reason) == (field, reason)


def test_beacon_long_user_agent() -> None:
    with pytest.raises(RequestError) as info:
        _beacon({"s": "a", "u": "https://a.gov.vn/"}, ua="u" * 101)
    assert info.value.field == "ua"


def test_beacon_body_types() -> None:
    assert parse_beacon_body(b'{"s":"a"}', "text/plain;charset=UTF-8") == {"s": "a"}
    assert parse_beacon_body(b'{"s":"a"}', None) == {"s": "a"}
    with pytest.raises(RequestError) as info:
        parse_beacon_body(b'{"s":"a"}', "application/x-www-form-urlencoded")
    assert info.value.status == 415
    for bad in (b"[1]", b"not json"):
        with pytest.raises(RequestError) as err:
            parse_beacon_body(bad, "text/plain")
        assert err.value.status == 400


# ------------------------------------------------------------------ dossiers


def _dossier(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "d1",
        "site": "b",
        "dossier_code": "HS-1",
        "status": "received",
        "ts": "2026-03-01T08:00:00+07:00",
        "channel": "online",
    }
    base.update(over)
    return base


def test_dossier_messages_and_rejections() -> None:
    items = parse_batch(
        _ndjson(_dossier(), _dossier(status="lost"), _dossier(site="zz")), "text/plain", LIMITS
    )
    result = build_dossiers(items, grant=ADMIN, now_ms=NOW, sites=SITES, limits=LIMITS)
    assert len(result.messages) == 1
    key, value = result.messages[0]
    assert key == dossier_key("b", "HS-1")
    raw = RawDossierEvent.model_validate(orjson.loads(value))
    assert raw.tz == "UTC" and raw.received_ms == NOW and raw.ts == 1_772_326_800_000
    assert [(r.line, r.field, r.reason) for r in result.rejected] == [
        (2, "status", "invalid_field"),
        (3, "site", "unknown_site"),
    ]


def test_dossier_blank_code_and_long_field() -> None:
    items = parse_batch(
        _ndjson(_dossier(dossier_code=" "), _dossier(agency="a" * 101)), "text/plain", LIMITS
    )
    result = build_dossiers(items, grant=ADMIN, now_ms=NOW, sites=SITES, limits=LIMITS)
    assert result.status == 422
    assert result.rejected[1].field == "agency"
    assert "dossier_code" in result.rejected[0].error


def test_event_props_and_value_reach_the_raw_hit() -> None:
    """Issue 17 item 3: the beacon's ``p``/``x`` and ``/v1/hits`` ``props``/``value``."""
    _, value = _beacon({"s": "a", "u": "https://a.gov.vn/", "t": "e", "n": "submit",
                        "p": {"procedure": "1.000123", "step": 2, "x": None}, "x": 12.5})  # fmt: skip
    decoded = orjson.loads(value)
    assert decoded["props"] == {"procedure": "1.000123", "step": "2"} and decoded["value"] == 12.5
    line = _line(type="event", name="submit", props={"ok": True}, value=3)
    decoded = orjson.loads(_hits(_ndjson(line)).messages[0][1])
    assert decoded["props"] == {"ok": "true"} and decoded["value"] == 3.0
    bad = _hits(_ndjson(_line(type="event", name="submit", value="lots")))
    assert bad.rejected[0].field == "value"
