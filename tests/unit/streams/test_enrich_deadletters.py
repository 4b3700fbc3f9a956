"""Dead-letter builder: payload kept for replay, field names in the detail."""

from __future__ import annotations

import base64

from pydantic import ValidationError

from schemas.deadletter import (
    MAX_DETAIL_CHARS,
    DeadLetter,
    build_dead_letter,
    describe_validation_error,
)
from schemas.hits import RawHit


def _letter(payload: bytes | None, key: bytes | None = b"s1|vk", detail: str = "d") -> DeadLetter:
    return build_dead_letter(
        stage="streams.hits",
        reason="invalid_json",
        detail=detail,
        topic="emc.hits.raw",
        partition=3,
        offset=42,
        key=key,
        payload=payload,
        failed_ms=1_795_000_000_000,
    )


def test_utf8_payload_is_kept_as_text() -> None:
    letter = _letter('{"url": "https://a.gov.vn/tin-tức"'.encode())
    assert letter.payload == '{"url": "https://a.gov.vn/tin-tức"'
    assert letter.payload_b64 == ""
    where = (letter.source_topic, letter.partition, letter.offset, letter.key)
    assert where == ("emc.hits.raw", 3, 42, "s1|vk")


def test_binary_payload_keeps_its_exact_bytes() -> None:
    data = b"\xff\xfe\x00garbage"
    letter = _letter(data, key=None)
    assert base64.b64decode(letter.payload_b64) == data
    assert "garbage" in letter.payload
    assert letter.key == ""


def test_missing_payload_is_empty() -> None:
    assert _letter(None).payload == ""


def test_long_details_are_cut() -> None:
    assert len(_letter(b"x", detail="y" * 10_000).detail) == MAX_DETAIL_CHARS


def test_validation_errors_name_every_field() -> None:
    try:
        RawHit.model_validate({"event_id": "e", "site": "s", "ts": "soon", "type": "click"})
    except ValidationError as exc:
        text = describe_validation_error(exc)
    assert "ts:" in text
    assert "type:" in text
    assert "url: Field required" in text
    assert "visitor_id: Field required" in text
