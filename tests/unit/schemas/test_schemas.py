"""Wire contracts: time parsing, field errors that name the field, site domains, topic names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas import BeaconHit, DossierEventIn, ServerHit
from schemas.common import to_epoch_ms
from schemas.sites import Site
from schemas.topics import HIT_PARTITIONS, TOPICS, TopicNames, dossier_key, hit_key


def test_rfc3339_with_offset_and_z_give_the_same_instant() -> None:
    assert to_epoch_ms("2026-11-23T07:00:00+07:00") == to_epoch_ms("2026-11-23T00:00:00Z")
    assert to_epoch_ms("2026-11-23T00:00:00Z") == 1_795_392_000_000


def test_epoch_ms_as_number_or_digits() -> None:
    assert to_epoch_ms(1_795_392_000_000) == 1_795_392_000_000
    assert to_epoch_ms("1795392000000") == 1_795_392_000_000


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2026-11-23T07:00:00", "zone offset"),
        ("yesterday", "RFC 3339"),
        (True, "boolean"),
        (1_795_392_000, "out of range"),  # seconds, not milliseconds
        ([1], "RFC 3339"),
    ],
)
def test_bad_times_are_refused_with_a_reason(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        to_epoch_ms(value)


def test_server_hit_error_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        ServerHit.model_validate({"site": "a", "url": "https://a.vn/", "ts": "soon"})
    assert info.value.errors()[0]["loc"] == ("ts",)


def test_server_hit_refuses_unknown_keys_so_typos_surface() -> None:
    with pytest.raises(ValidationError) as info:
        ServerHit.model_validate({"site": "a", "url": "u", "ts": 1_795_392_000_000, "timestamp": 1})
    assert info.value.errors()[0]["loc"] == ("timestamp",)


def test_beacon_accepts_short_and_long_keys_and_ignores_extras() -> None:
    short = BeaconHit.model_validate({"s": "a", "u": "https://a.vn/x", "t": "event", "zz": 1})
    long = BeaconHit.model_validate({"site": "a", "url": "https://a.vn/x", "type": "event"})
    assert short == long


def test_dossier_event_requires_a_known_status() -> None:
    base = {"event_id": "e1", "site": "s", "dossier_code": "H1", "ts": 1_795_392_000_000}
    with pytest.raises(ValidationError) as info:
        DossierEventIn.model_validate({**base, "status": "finished"})
    assert info.value.errors()[0]["loc"] == ("status",)
    assert DossierEventIn.model_validate({**base, "status": "received"}).status == "received"


def test_site_domains_and_wildcards() -> None:
    site = Site(id="hn", name="Hà Nội", type="portal", domains=("hanoi.gov.vn", "*.hanoi.gov.vn"))
    assert site.owns_host("hanoi.gov.vn")
    assert site.owns_host("dichvucong.HANOI.gov.vn")
    assert not site.owns_host("evilhanoi.gov.vn")
    assert not site.owns_host("hanoi.gov.vn.example.com")


def test_site_timezone_must_exist() -> None:
    with pytest.raises(ValidationError, match="unknown IANA timezone"):
        Site(id="x", name="x", type="portal", timezone="Asia/Hanoi_City")


def test_topic_prefix_applies_to_every_topic_and_hit_topics_share_partitions() -> None:
    names = TopicNames("t1.")
    specs = names.specs()
    assert [s.name for s in specs] == [f"t1.{s.name}" for s in TOPICS]
    assert names.hits_raw == "t1.emc.hits.raw"
    by_name = {s.name: s.partitions for s in TOPICS}
    assert by_name["emc.hits.raw"] == by_name["emc.pageviews"] == by_name["emc.sessions"]
    assert by_name["emc.hits.raw"] == HIT_PARTITIONS


def test_partition_keys() -> None:
    assert hit_key("hn", "abc") == b"hn|abc"
    assert dossier_key("hn", "H-1") == b"hn|H-1"
