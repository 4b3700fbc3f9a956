"""The site registry on the real ClickHouse engine."""

from __future__ import annotations

from typing import Any

import pytest

from clickhouse.client import Database
from clickhouse.registry import delete_site, get_site, list_sites, upsert_site
from schemas.sites import Site, SiteType

pytestmark = pytest.mark.integration


def test_sites_roundtrip_replace_and_delete(clickhouse_engine: Any, ch_database: str) -> None:
    db = Database(clickhouse_engine, ch_database)
    first = Site(
        id="hanoi", name="Hà Nội", type=SiteType.PORTAL, domains=("hanoi.gov.vn", "*.hanoi.gov.vn")
    )
    other = Site(id="dvc", name="DVC", type=SiteType.DVC, ingest_token="tok")
    upsert_site(db, first)
    upsert_site(db, other)
    assert list_sites(db) == [other, first]
    renamed = first.model_copy(update={"name": "Thành phố Hà Nội"})
    upsert_site(db, renamed)
    assert get_site(db, "hanoi") == renamed
    assert len(list_sites(db)) == 2
    assert delete_site(db, "hanoi") is True
    assert get_site(db, "hanoi") is None
    assert list_sites(db) == [other]
    assert delete_site(db, "hanoi") is False
    upsert_site(db, first)  # a deleted site can come back
    assert get_site(db, "hanoi") == first


def test_an_invalid_row_written_by_hand_does_not_hide_the_others(
    clickhouse_engine: Any, ch_database: str
) -> None:
    db = Database(clickhouse_engine, ch_database)
    good = Site(id="good", name="Good", type=SiteType.ONESTOP)
    upsert_site(db, good)
    db.command(
        "INSERT INTO sites (id, name, type, timezone, updated_at) "
        "VALUES ('bad', 'Bad', 'portal', 'Mars/Base', now64())"
    )
    assert list_sites(db) == [good]
