"""The satisfaction rating ``emc("rating", {score: 1-5, procedure})`` (issue 16, Decision 766
group "Mức độ hài lòng"): the collector writes the canonical event name
``rating:<score>:<procedure>`` and refuses a score outside 1-5 with a 422 naming the field,
without dropping the good lines of a batch beside it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ingest.requests import RequestError, build_beacon, parse_batch
from schemas.ratings import parse_rating_name, rating_name
from tests.unit.ingest.test_requests import LIMITS, NOW, SECRET, SITES, _hits, _line, _ndjson


def _beacon(params: dict[str, Any]) -> dict[str, Any]:
    _, value = build_beacon(
        params, ip="203.0.113.5", ua="UA", now_ms=NOW, sites=SITES, limits=LIMITS,
        secret=SECRET, new_id=lambda: "id",
    )  # fmt: skip
    decoded: dict[str, Any] = orjson.loads(value)
    return decoded


BASE = {"s": "a", "u": "https://a.gov.vn/thu-tuc", "t": "e", "n": "rating"}


@pytest.mark.parametrize(("score", "stored"), [(1, 1), (5, 5), (4.0, 4), ("3", 3)])
def test_a_rating_is_stored_under_its_canonical_name(score: Any, stored: int) -> None:
    decoded = _beacon({**BASE, "p": {"score": score, "procedure": "1.000123"}})
    assert decoded["type"] == "event"
    assert decoded["name"] == f"rating:{stored}:1.000123"
    assert parse_rating_name(decoded["name"]) == (stored, "1.000123")


def test_a_rating_without_a_procedure_keeps_an_empty_one() -> None:
    assert _beacon({**BASE, "p": {"score": 2}})["name"] == "rating:2:"


@pytest.mark.parametrize("score", [0, 6, -1, 4.5, "x", None, True, [5]])
def test_a_score_outside_1_to_5_is_422_naming_p_score(score: Any) -> None:
    with pytest.raises(RequestError) as info:
        _beacon({**BASE, "p": {"score": score, "procedure": "1.000123"}})
    assert info.value.status == 422
    assert (info.value.field, info.value.reason) == ("p.score", "invalid_rating")
    assert "integer from 1 to 5" in info.value.error


def test_a_rating_without_props_or_with_a_forged_name_is_refused() -> None:
    with pytest.raises(RequestError) as info:
        _beacon(BASE)
    assert (info.value.field, info.value.reason) == ("p", "invalid_rating")
    with pytest.raises(RequestError) as info:
        _beacon({**BASE, "n": "rating:9:1.000123"})
    assert (info.value.field, info.value.reason) == ("name", "invalid_rating")
    with pytest.raises(RequestError) as info:
        _beacon({**BASE, "p": {"score": 5, "procedure": "a:b"}})
    assert info.value.field == "p.procedure"


def test_other_events_and_pageviews_pass_unchanged() -> None:
    assert _beacon({**BASE, "n": "ratings-page"})["name"] == "ratings-page"
    assert _beacon({**BASE, "t": "p", "n": "rating"})["name"] == "rating"


def test_server_hits_check_ratings_per_line_and_keep_the_good_lines() -> None:
    body = _ndjson(
        _line(type="event", name="rating", props={"score": 5, "procedure": "P1"}),
        _line(type="event", name="rating", props={"score": 7, "procedure": "P1"}),
        _line(type="event", name="rating:3:P2"),
    )
    result = _hits(body)
    assert [orjson.loads(v)["name"] for _, v in result.messages] == ["rating:5:P1", "rating:3:P2"]
    assert [(r.line, r.field, r.reason) for r in result.rejected] == [
        (2, "props.score", "invalid_rating")
    ]
    assert result.status == 202
    assert parse_batch(body, "application/x-ndjson", LIMITS)  # the body itself is well formed


def test_canonical_names_round_trip() -> None:
    assert rating_name("rating:5:1.0", None) == "rating:5:1.0"
    assert parse_rating_name("rating:05:x") is None  # one spelling per score
    assert parse_rating_name("rating:5") is None
    assert parse_rating_name("click") is None
