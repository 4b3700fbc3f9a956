"""Site cache: parsing the registry, the last good copy, and the wait of an unknown site or
token for a fresh load (bounded, shared, rate limited) — on a fake clock, except the bound."""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise as pairs
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import Settings
from ingest.sites import MAX_UNKNOWN_WAIT_S, MIN_REFRESH_INTERVAL_S, SiteCache, parse_sites
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


class FakeTime:
    """The cache's clock and sleep: sleeping moves the clock, nothing really waits."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class Registry:
    """The warehouse's ``/api/v1/sites``: what it holds now, and when each load asked."""

    def __init__(self, time: FakeTime | None = None, sites: list[dict[str, Any]] | None = None):
        self.sites = list(sites if sites is not None else [SITE])
        self.asked_at: list[float] = []
        self.up = True
        self._time = time

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked_at.append(self._time.now if self._time else time.monotonic())
        if not self.up:
            return httpx.Response(503)
        return httpx.Response(200, json=self.sites)

    def add(self, site_id: str, token: str = "") -> None:
        self.sites.append({**SITE, "id": site_id, "ingest_token": token})


def _cache(tmp_path: Path, handler: Any, fake: FakeTime | None = None, **kw: Any) -> SiteCache:
    settings = Settings(data_dir=tmp_path, admin_token="adm", api_url="http://wh")
    client = httpx.AsyncClient(base_url="http://wh", transport=httpx.MockTransport(handler))
    if fake is not None:
        kw |= {"clock": fake.clock, "sleep": fake.sleep}
    return SiteCache(settings, client=client, **kw)


async def test_load_keeps_the_last_good_copy(tmp_path: Path) -> None:
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
    assert await cache.ensure(["a"])  # known: no call
    assert len(calls) == 1
    state["up"] = False
    assert not await cache.refresh()
    assert "a" in cache.sites  # last good copy kept
    assert "503" in cache.last_error


async def test_a_site_registered_after_the_last_load_is_accepted_after_the_wait(
    tmp_path: Path,
) -> None:
    fake = FakeTime()
    registry = Registry(fake)
    cache = _cache(tmp_path, registry, fake)
    assert await cache.refresh()  # at 100.0
    fake.now += 0.3
    registry.add("b", token="tok-b")  # `emc sites add` ...
    assert await cache.ensure(["b"])  # ... and its first hit at once: waits, then known
    assert fake.sleeps == [pytest.approx(0.7)]  # until the rate limit allowed the next load
    assert registry.asked_at == [100.0, pytest.approx(101.0)]
    registry.add("c", token="tok-c")
    fake.now += 5
    assert await cache.ensure(token="tok-c")  # an ingest token registered a moment ago
    assert len(registry.asked_at) == 3


async def test_a_truly_unknown_site_is_unknown_after_one_fresh_load(tmp_path: Path) -> None:
    fake = FakeTime()
    registry = Registry(fake)
    cache = _cache(tmp_path, registry, fake)
    assert await cache.refresh()
    fake.now += 0.5
    asked = fake.now
    assert not await cache.ensure(["zzz"])
    assert len(registry.asked_at) == 2  # one load that started after the request, no more
    assert registry.asked_at[-1] >= asked
    assert fake.now - asked <= MAX_UNKNOWN_WAIT_S
    registry.up = False  # a down warehouse: unknown after the one load that failed
    fake.now += 10
    assert not await cache.ensure(["b"])
    assert len(registry.asked_at) == 3 and "503" in cache.last_error


async def test_concurrent_unknown_lookups_share_one_load(tmp_path: Path) -> None:
    fake = FakeTime()
    registry = Registry(fake)
    cache = _cache(tmp_path, registry, fake)
    assert await cache.refresh()
    fake.now += 0.2
    registry.add("b", token="tok-b")
    results = await asyncio.gather(
        *[cache.ensure(["b"]) for _ in range(50)],
        *[cache.ensure(["nope"]) for _ in range(50)],
        *[cache.ensure(token="tok-b") for _ in range(20)],
        *[cache.sync() for _ in range(5)],
    )
    assert results == [True] * 50 + [False] * 50 + [True] * 25
    assert len(registry.asked_at) == 2  # the initial load and one shared load
    assert fake.sleeps == [pytest.approx(0.8)]  # one sleeper, not 125


async def test_loads_for_unknown_sites_start_at_most_once_per_interval(tmp_path: Path) -> None:
    fake = FakeTime()
    registry = Registry(fake)
    cache = _cache(tmp_path, registry, fake)
    for _ in range(5):  # garbage traffic, one request after the other
        assert not await cache.ensure(["garbage"])
        fake.now += 0.1
    gaps = [b - a for a, b in pairs(registry.asked_at)]
    assert len(registry.asked_at) == 5
    assert all(gap >= MIN_REFRESH_INTERVAL_S for gap in gaps), gaps


async def test_the_wait_is_bounded_when_the_warehouse_hangs(tmp_path: Path) -> None:
    async def hanging(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=[SITE])

    cache = _cache(tmp_path, hanging, max_wait_s=0.3)  # the real clock
    started = time.monotonic()
    assert not await cache.ensure(["a"])
    assert 0.25 <= time.monotonic() - started < 1.5
    assert not await cache.sync()
    await cache.stop()  # cancels the hanging load
    assert MAX_UNKNOWN_WAIT_S == 2.0


async def test_sync_reloads_even_a_known_site(tmp_path: Path) -> None:
    fake = FakeTime()
    registry = Registry(fake)
    cache = _cache(tmp_path, registry, fake)
    assert await cache.refresh()
    fake.now += 0.1
    registry.sites = [{**SITE, "ingest_token": "new"}]  # `emc sites add` changed its token
    assert await cache.sync()
    assert cache.tokens == {"new": frozenset({"a"})}
    assert registry.asked_at == [100.0, pytest.approx(101.0)]


async def test_a_static_cache_never_waits() -> None:
    cache = SiteCache.static([Site(id="s", name="S", type=SiteType.DVC)])
    assert not await cache.ensure(["x"]) and not await cache.sync()
    assert await cache.ensure(["s"])


def test_static_cache() -> None:
    cache = SiteCache.static([Site(id="s", name="S", type=SiteType.DVC, ingest_token="x")])
    assert cache.sites["s"].type == SiteType.DVC and cache.tokens == {"x": frozenset({"s"})}
