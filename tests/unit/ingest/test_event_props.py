"""Event properties and values on their way in (issue 17 item 3): the beacon's ``p``/``x``,
``/v1/hits`` ``props``/``value`` and Matomo's ``e_c``/``e_a``/``e_n``/``e_v`` and ``search``."""

from __future__ import annotations

import orjson
import pytest

from ingest.matomo import translate
from ingest.requests import RequestError
from schemas.hits import MAX_PROPS, RawHit, event_props
from schemas.sites import Site

SITES = {"hcm": Site(id="hcm", name="HCM", type="portal", domains=("hcm.gov.vn",), matomo_id=7)}


def test_props_are_flat_text_and_nested_or_null_values_are_left_out() -> None:
    props = {"form": "1.000123", "step": 2, "ok": True, "rate": 1.5, "x": None, "n": {"a": 1}}
    assert event_props(props) == {"form": "1.000123", "step": "2", "ok": "true", "rate": "1.5"}
    assert event_props(None) == {}


def test_props_are_bounded() -> None:
    many = {f"k{i}": "v" * 900 for i in range(MAX_PROPS + 5)}
    kept = event_props(many)
    assert len(kept) == MAX_PROPS and all(len(v) == 500 for v in kept.values())


def test_matomo_event_keeps_its_parts_as_properties_and_its_value() -> None:
    q = {"rec": "1", "idsite": "7", "url": "https://hcm.gov.vn/a", "e_c": "Form", "e_a": "Submit",
         "e_n": "1.000123", "e_v": "12.5"}  # fmt: skip
    params = translate(q, SITES, "admin").params
    assert params["t"] == "e" and params["n"] == "Form/Submit/1.000123"
    assert params["p"] == {"category": "Form", "action": "Submit", "name": "1.000123"}
    assert params["x"] == 12.5


def test_matomo_event_value_that_is_not_a_number_is_refused_naming_e_v() -> None:
    q = {"rec": "1", "idsite": "7", "url": "https://hcm.gov.vn/a", "e_c": "F", "e_a": "A",
         "e_v": "lots"}  # fmt: skip
    with pytest.raises(RequestError, match="e_v"):
        translate(q, SITES, "admin")


def test_matomo_site_search_is_a_pageview_with_its_term() -> None:
    q = {"rec": "1", "idsite": "7", "url": "https://hcm.gov.vn/tim", "search": "hộ chiếu",
         "search_cat": "thu-tuc", "action_name": "Tìm kiếm"}  # fmt: skip
    params = translate(q, SITES, "admin").params
    assert params["t"] == "p" and params["n"] == "Tìm kiếm"
    assert params["p"] == {"search": "hộ chiếu", "search_cat": "thu-tuc"}
    assert "x" not in params


def test_raw_hit_carries_props_and_value() -> None:
    raw = RawHit(event_id="e", site="hcm", tz="Asia/Ho_Chi_Minh", ts=1, received_ms=2,
                 type="event", name="n", url="u", visitor_id="v", source="beacon",
                 props={"a": "b"}, value=3.0)  # fmt: skip
    assert orjson.loads(orjson.dumps(raw.model_dump(mode="json")))["props"] == {"a": "b"}
