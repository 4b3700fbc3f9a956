"""Site cache: parsing the registry, refresh on unknown sites (rate limited), last good copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from core.settings import Settings
from ingest.producer import partition_for
from ingest.sites import SiteCache, parse_sites
from schemas.sites import Site, SiteType

SITE = {
    "id": "a",
    "name": "A",
    "type": "portal",
    "domains": ["a.vn"],
    "ingest_token": "t",
    "updated_at": "2026-01-01",
}


def test_parse_sites_ignores_extra_keys_and_skips_invalid() -> None:
    sites = parse_sites([SITE, {"id": "bad id!", "name": "x", "type": "portal"}, "junk"])
    assert list(sites) == ["a"]
    assert sites["a"].domains == ("a.vn",)


def _cache(tmp_path: Path, handler: Any) -> SiteCache:
    settings = Settings(data_dir=tmp_path, admin_token="adm", api_url="http://wh")
    client = httpx.AsyncClient(base_url="http://wh", transport=httpx.MockTransport(handler))
    return SiteCache(settings, client=client)


async def test_refresh_on_unknown_site_once_per_second_and_keep_last_copy(tmp_path: Path) -> None:
    calls: list[str] = []
    state = {"up": True}

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        if not state["up"]:
            return httpx.Response(503)
        return httpx.Response(200, json=[SITE])

    cache = _cache(tmp_path, handler)
    assert await cache.refresh()
    assert calls == ["Bearer adm"]
    assert "a" in cache.sites and cache.tokens["t"] == frozenset({"a"})
    await cache.ensure(["a"])  # known: no call
    assert len(calls) == 1
    await cache.ensure(["zzz"])  # unknown, but refreshed less than a second ago
    assert len(calls) == 1
    cache._last_refresh -= 2  # a second later
    await cache.ensure(["zzz"])
    assert len(calls) == 2
    state["up"] = False
    cache._last_refresh -= 2
    assert not await cache.refresh()
    assert "a" in cache.sites  # last good copy kept
    assert "503" in cache.last_error


def test_static_cache() -> None:
    cache = SiteCache.static([Site(id="s", name="S", type=SiteType.DVC, ingest_token="x")])
    assert cache.sites["s"].type == SiteType.DVC and cache.tokens == {"x": frozenset({"s"})}


def test_partition_for_matches_aiokafka_default_partitioner() -> None:
    from aiokafka.partitioner import DefaultPartitioner

    partitions = list(range(6))
    for i in range(200):
        key = f"site|{i:032x}".encode()
        assert partition_for(key, partitions) == DefaultPartitioner()(key, partitions, partitions)
