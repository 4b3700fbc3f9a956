"""The pure parts of the sink's crash recovery: the batch token both ways and the rows of a
re-formed batch (exactly what the sink had buffered for that table)."""

from __future__ import annotations

from types import SimpleNamespace

from schemas.hits import EnrichedHit, HitType
from sink.recovery import batch_records, batch_token, parse_token, rows_of
from sink.rows import SinkKind


def test_token_lists_partitions_sorted_and_parses_back() -> None:
    spans = {
        ("p.emc.sessions", 2): [7, 9],
        ("p.emc.pageviews", 10): [0, 0],
        ("p.emc.pageviews", 3): [5, 8],
    }
    token = batch_token(spans)
    assert token == "p.emc.pageviews/3/5-8,p.emc.pageviews/10/0-0,p.emc.sessions/2/7-9"
    assert parse_token(token) == [
        ("p.emc.pageviews", 3, 5, 8),
        ("p.emc.pageviews", 10, 0, 0),
        ("p.emc.sessions", 2, 7, 9),
    ]
    rows = batch_records("g-sink", "pageviews", token)
    assert [r[:5] for r in rows] == [
        ["g-sink", "pageviews", "p.emc.pageviews", 3, token],
        ["g-sink", "pageviews", "p.emc.pageviews", 10, token],
        ["g-sink", "pageviews", "p.emc.sessions", 2, token],
    ]


def _hit(n: int, bot: bool) -> bytes:
    hit = EnrichedHit(
        event_id=f"h{n}", site="s", ts=1_700_000_000_000, local_ms=1_700_000_000_000,
        received_ms=1_700_000_000_000, type=HitType.PAGEVIEW, url="https://a.vn/", visitor_id="v",
        is_bot=bot,
    )  # fmt: skip
    return hit.model_dump_json().encode()


def test_rows_of_a_batch_keep_only_that_table_and_skip_dead_letters() -> None:
    kinds = {"pv": SinkKind.PAGEVIEWS}
    records = {
        ("pv", 1): [
            SimpleNamespace(offset=4, value=_hit(1, False)),
            SimpleNamespace(offset=5, value=_hit(2, True)),  # a bot: the bot_hits batch
            SimpleNamespace(offset=6, value=b"not json"),  # dead-lettered by the sink
            SimpleNamespace(offset=7, value=_hit(3, False)),
        ]
    }
    pageviews = rows_of("pageviews", kinds, records)
    assert [(r[0], r[-3], r[-2], r[-1]) for r in pageviews] == [
        ("h1", "pv", 1, 4),
        ("h3", "pv", 1, 7),
    ]
    assert [r[0] for r in rows_of("bot_hits", kinds, records)] == ["h2"]
