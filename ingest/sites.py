"""The collector's copy of the site registry.

Loaded from the warehouse (``GET {warehouse_url}/api/v1/sites`` with the admin token) every
``EMC_SITES_REFRESH_S``. When the warehouse is down the last good copy is kept: the collector's
job is to keep accepting hits.

A site registered a moment ago must not be refused. A request naming a site id (or ingest
token) that the copy does not know *waits* for a load that started after the request arrived
— the first one that can see a registration made before it — and is answered from that copy:
unknown only if that load does not know it either. Contract of that wait (``ensure``):
- loads are shared: however many requests wait, at most one load runs at a time and every
  waiter takes the result of the same one (no thundering herd);
- loads triggered by unknown ids start at most once per ``MIN_REFRESH_INTERVAL_S``, so garbage
  traffic cannot hammer the warehouse;
- no request waits longer than ``MAX_UNKNOWN_WAIT_S`` in all (a slow or down warehouse: it is
  answered from the copy it has, i.e. unknown).
``sync()`` is the same wait without the "unknown" condition: the collector's
``GET /sites/{id}/ready``, which ``emc sites add`` asks before it returns.

The clock and the sleep of the wait are injectable (``clock``, ``sleep``) so tests need not
sleep; the periodic reload runs on the event loop's own timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx
from pydantic import ValidationError

from core.settings import Settings
from ingest.requests import token_sites
from schemas.sites import Site

log = logging.getLogger(__name__)

#: Shortest time between the starts of two loads triggered by unknown sites or tokens.
MIN_REFRESH_INTERVAL_S = 1.0
#: Longest a request for an unknown site or token waits for a fresh load, in all.
MAX_UNKNOWN_WAIT_S = 2.0


def parse_sites(payload: Any) -> dict[str, Site]:
    """The sites of a ``/api/v1/sites`` answer (a JSON list). Keys the registry adds (e.g.
    ``updated_at``) are ignored; an invalid entry is logged and skipped, never fatal."""
    if not isinstance(payload, list):
        raise ValueError("expected a JSON list of sites")
    known = set(Site.model_fields)
    out: dict[str, Site] = {}
    for entry in payload:
        if not isinstance(entry, dict):
            continue
        try:
            site = Site.model_validate({k: v for k, v in entry.items() if k in known})
        except ValidationError as exc:
            log.warning("site registry entry %r skipped: %s", entry.get("id"), exc)
            continue
        out[site.id] = site
    return out


class SiteCache:
    """Sites by id and ingest tokens; ``static()`` for tests (never loads, never waits)."""

    def __init__(
        self,
        settings: Settings | None,
        *,
        sites: Iterable[Site] = (),
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_wait_s: float = MAX_UNKNOWN_WAIT_S,
    ) -> None:
        self._settings = settings
        self._client = client
        self._sites: dict[str, Site] = {}
        self._tokens: dict[str, frozenset[str]] = {}
        self._set(sites)
        self._task: asyncio.Task[None] | None = None
        self._clock = clock
        self._sleep = sleep
        self._max_wait_s = max_wait_s
        #: the shared load (sleeping until the rate limit allows it, or running)
        self._next: asyncio.Task[None] | None = None
        #: when the latest load started, and when the latest *finished* one had started
        self._last_refresh = float("-inf")
        self._last_done = float("-inf")
        self.loads = 0
        self.loaded = settings is None
        self.last_error = ""

    @classmethod
    def static(cls, sites: Iterable[Site]) -> SiteCache:
        return cls(None, sites=sites)

    def _set(self, sites: Iterable[Site]) -> None:
        self._sites = {site.id: site for site in sites}
        self._tokens = token_sites(self._sites.values())

    @property
    def sites(self) -> Mapping[str, Site]:
        return self._sites

    @property
    def tokens(self) -> Mapping[str, frozenset[str]]:
        return self._tokens

    async def start(self) -> None:
        """Try one load (never fails), then refresh in the background."""
        if self._settings is None:
            return
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self._settings.warehouse_url, timeout=5.0)
        await self.refresh()
        self._task = asyncio.create_task(self._loop(), name="emc-site-cache")

    async def stop(self) -> None:
        for task in (self._task, self._next):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._next = None
        if self._client is not None and self._settings is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        assert self._settings is not None
        while True:
            await asyncio.sleep(self._settings.sites_refresh_s)
            await asyncio.shield(self._shared_load())

    async def refresh(self) -> bool:
        """Load from the warehouse now; True on success. Keeps the last copy on failure."""
        if self._settings is None or self._client is None:
            return False
        started = self._clock()
        self._last_refresh = started
        self.loads += 1
        try:
            token = self._settings.admin_token.get_secret_value()
            response = await self._client.get(
                "/api/v1/sites", headers={"Authorization": f"Bearer {token}"}
            )
            response.raise_for_status()
            sites = parse_sites(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("site registry not loaded from %s: %s", self._settings.warehouse_url, exc)
            return False
        finally:
            self._last_done = max(self._last_done, started)
        self._set(sites.values())
        self.loaded = True
        self.last_error = ""
        return True

    def _knows(self, site_ids: Iterable[str], token: str | None) -> bool:
        return all(s in self._sites for s in site_ids) and (token is None or token in self._tokens)

    @property
    def _loads(self) -> bool:
        """Whether this cache loads at all (not ``static()``, started)."""
        return self._settings is not None and self._client is not None

    async def ensure(self, site_ids: Iterable[str] = (), token: str | None = None) -> bool:
        """Whether every id of ``site_ids`` (and ``token``) is known, after waiting for a
        fresh load when one is not (bounded, shared: see the module docstring)."""
        ids = tuple(site_ids)
        if self._knows(ids, token):
            return True
        if not self._loads:
            return False
        await self._fresh_load(lambda: self._knows(ids, token))
        return self._knows(ids, token)

    async def sync(self) -> bool:
        """Wait (bounded, shared) for a load that starts after this call; True when one
        finished in time (successful or not: ``last_error`` says)."""
        if not self._loads:
            return False
        return await self._fresh_load(lambda: False)

    async def _fresh_load(self, satisfied: Callable[[], bool]) -> bool:
        """Wait until a load that started at or after now has finished, or ``satisfied()``
        (checked after each load); False when ``max_wait_s`` ran out first."""
        arrived = self._clock()
        deadline = arrived + self._max_wait_s
        while self._last_done < arrived:
            idle = self._next is None or self._next.done()
            if idle and self._last_refresh + MIN_REFRESH_INTERVAL_S > deadline:
                return False  # the next load could not even start in time
            remaining = deadline - self._clock()
            if remaining <= 0:
                return False
            done, _ = await asyncio.wait({self._shared_load()}, timeout=remaining)
            if not done:
                return False
            if satisfied():
                return True
        return True

    def _shared_load(self) -> asyncio.Task[None]:
        """The one pending load, created when there is none."""
        if self._next is None or self._next.done():
            self._next = asyncio.create_task(self._load_when_allowed(), name="emc-site-load")
        return self._next

    async def _load_when_allowed(self) -> None:
        delay = self._last_refresh + MIN_REFRESH_INTERVAL_S - self._clock()
        if delay > 0:
            await self._sleep(delay)
        try:
            await self.refresh()
        except Exception:  # never left in a task nobody reads; refresh logs its own errors
            log.exception("site registry load failed")
