"""The worker's and the sink's per-message codecs: the one-pass pydantic-core paths
(``model_validate_json``, the model's own serializer) give the same models and the same bytes
as the orjson paths they replaced, and a bad message still names its reason and field."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pydantic import BaseModel

from core.settings import Settings
from schemas.deadletter import DeadLetter
from schemas.dossiers import DossierEvent
from schemas.hits import EnrichedHit, RawHit, SessionUpdate
from sink.rows import BadMessage, Origin, SinkKind, _parse, decode
from streams.app import DossierHandler, HitHandler, Incoming, _decode, _dumps, _Rejected
from streams.enrich.geoip import GeoIP
from streams.enrich.metrics import StreamCounters
from streams.enrich.pipeline import build_pipeline
from streams.enrich.useragent import UserAgentParser
from tests.integration import scenario
from tests.mmdb_builder import build_country_mmdb
from tests.unit.streams.test_enrich_handlers import PREFIX, Run, raw_messages

MODELS: dict[str, type[BaseModel]] = {
    "emc.pageviews": EnrichedHit,
    "emc.sessions": SessionUpdate,
    "emc.deadletters": DeadLetter,
    "emc.dossiers": DossierEvent,
}


@pytest.fixture()
def outputs(tmp_path: Path) -> list[tuple[str, bytes]]:
    """Every message the worker sends for the known scenario, a bad hit and two dossier
    events (one with a Vietnamese procedure name): (topic without prefix, value)."""
    settings = Settings(data_dir=tmp_path, topic_prefix=PREFIX)
    geo = GeoIP(build_country_mmdb(tmp_path / "geo.mmdb", scenario.GEO_NETWORKS))
    counters = StreamCounters()
    run = Run(HitHandler(settings, build_pipeline(geo, UserAgentParser(), counters), counters))
    for offset, (key, value) in enumerate(raw_messages()):
        run.feed(key, value, offset)
    run.feed(b"e2e|x", b'{"site": 1}', 99)
    dossiers = DossierHandler(settings, StreamCounters())
    event = {
        "event_id": "d1", "site": "mc1", "dossier_code": "H1", "status": "resolved",
        "ts": 1_795_000_000_000, "tz": "Asia/Ho_Chi_Minh", "received_ms": 1,
        "procedure_name": "Cấp giấy phép xây dựng", "due_at": 1_795_100_000_000,
    }  # fmt: skip
    for n, value in enumerate((orjson.dumps(event), b"\xff")):
        msg = Incoming(f"{PREFIX}emc.dossiers.raw", 0, n, b"mc1|H1", value)
        run.out += dossiers.handle(msg, now_ms=9)
    return [(m.topic.removeprefix(PREFIX), m.value) for m in run.out if m.value is not None]


def test_every_output_is_the_bytes_orjson_gave(outputs: list[tuple[str, bytes]]) -> None:
    topics = {topic for topic, _ in outputs}
    assert topics == set(MODELS)  # every kind of output is covered
    for topic, value in outputs:
        model = MODELS[topic].model_validate(orjson.loads(value))
        assert _dumps(model) == orjson.dumps(model.model_dump()), topic
        assert _dumps(model) == value


def test_one_pass_decoding_gives_the_models_orjson_gave(outputs: list[tuple[str, bytes]]) -> None:
    for topic, value in outputs:
        model = MODELS[topic]
        assert _decode(value, model) == model.model_validate(orjson.loads(value)), topic
    for _, value in raw_messages():
        assert _decode(value, RawHit) == RawHit.model_validate(orjson.loads(value))


@pytest.mark.parametrize(
    ("value", "reason", "field"),
    [
        (None, "empty_message", "no value"),
        (b"", "empty_message", "no value"),
        (b"{not json", "invalid_json", "not JSON"),
        (b"\xff", "invalid_json", "not JSON"),
        (b'"\\ud800"', "invalid_json", "not JSON"),
        (b"[1, 2]", "validation", "JSON object"),
        (b'{"event_id": "e", "site": "s"}', "validation", "tz"),
        (b'{"event_id": "e", "site": "s", "tz": "UTC", "ts": "x"}', "validation", "ts"),
    ],
)
def test_a_bad_hit_still_names_its_reason_and_field(
    value: bytes | None, reason: str, field: str
) -> None:
    with pytest.raises(_Rejected) as info:
        _decode(value, RawHit)
    assert info.value.reason == reason
    assert field in info.value.detail


def test_the_sink_parses_the_workers_outputs_as_before(outputs: list[tuple[str, bytes]]) -> None:
    seen = 0
    for topic, value in outputs:
        if topic == "emc.deadletters":
            continue
        model = MODELS[topic]
        assert _parse(model, value) == model.model_validate(orjson.loads(value)), topic
        seen += 1
    assert seen > 10
    for value, reason in ((b'{"x": NaN}', "invalid_json"), (b"[1]", "validation")):
        with pytest.raises(BadMessage) as info:
            decode(SinkKind.PAGEVIEWS, value, Origin("t", 0, 0))
        assert info.value.reason == reason
