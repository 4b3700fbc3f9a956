"""Pure parts of ``emc deadletters``: payload recovery, filters and where the cursor may move."""

from __future__ import annotations

import base64

from broker.deadletters import (
    StoredLetter,
    cursor_after,
    original_payload,
    parse_letter,
    replay_marker,
    select,
)
from schemas.deadletter import build_dead_letter


def _letter(offset: int, reason: str = "validation", stage: str = "streams.hits") -> StoredLetter:
    letter = build_dead_letter(
        stage=stage,
        reason=reason,
        detail="ts: bad",
        topic="emc.hits.raw",
        partition=2,
        offset=100 + offset,
        key=b"s|v",
        payload=b'{"site":"s"}',
        failed_ms=1,
    )
    return StoredLetter(0, offset, 5, letter, letter.model_dump_json().encode())


def test_original_payload_is_the_exact_bytes_even_when_not_utf8() -> None:
    raw = b"\xff\xfe{bad"
    letter = build_dead_letter(
        stage="streams.hits",
        reason="invalid_json",
        detail="",
        topic="t",
        partition=0,
        offset=0,
        key=None,
        payload=raw,
        failed_ms=0,
    )
    assert letter.payload_b64 == base64.b64encode(raw).decode()
    assert original_payload(letter) == raw
    assert original_payload(_letter(0).letter) == b'{"site":"s"}'  # type: ignore[arg-type]


def test_a_message_that_is_not_a_dead_letter_is_recognised() -> None:
    assert parse_letter(b"garbage") is None
    assert parse_letter(b'{"stage": "x"}') is None
    assert parse_letter(_letter(1).raw) == _letter(1).letter


def test_select_filters_by_reason_stage_and_offset() -> None:
    letters = [_letter(0), _letter(1, "invalid_json"), _letter(2, stage="sink.pageviews")]
    assert [s.offset for s in select(letters)] == [0, 1, 2]
    assert [s.offset for s in select(letters, reason="invalid_json")] == [1]
    assert [s.offset for s in select(letters, stage="sink.pageviews")] == [2]
    assert [s.offset for s in select(letters, offsets=[0, 2], reason="validation")] == [0, 2]
    broken = StoredLetter(0, 9, 0, None, b"x")
    assert select([broken], reason="validation") == []


def test_cursor_moves_only_past_a_contiguous_run_of_handled_letters() -> None:
    pending = [_letter(4), _letter(5), _letter(6), _letter(7)]
    assert cursor_after(pending, pending) == {0: 8}
    assert cursor_after(pending, [pending[0], pending[1], pending[3]]) == {0: 6}
    assert cursor_after(pending, [pending[2]]) == {}
    assert cursor_after(pending, []) == {}


def test_replay_marker_names_the_letter() -> None:
    assert replay_marker("emc.deadletters", _letter(3)) == b"emc.deadletters/0@3"
