"""The collector's copy of the site registry.

Loaded from the warehouse (``GET {warehouse_url}/api/v1/sites`` with the admin token) every
``EMC_SITES_REFRESH_S``; a hit for an unknown site (or an unknown token) triggers a refresh, at
most once per second, so a newly registered site works at once without letting garbage traffic
hammer the warehouse. When the warehouse is down the last good copy is kept: the collector's
job is to keep accepting hits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from pydantic import ValidationError

from core.settings import Settings
from ingest.requests import token_sites
from schemas.sites import Site

log = logging.getLogger(__name__)

#: Shortest time between two refreshes triggered by unknown sites or tokens.
MIN_REFRESH_INTERVAL_S = 1.0


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
    """Sites by id and ingest tokens; ``static()`` for tests (never refreshes)."""

    def __init__(
        self,
        settings: Settings | None,
        *,
        sites: Iterable[Site] = (),
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._sites: dict[str, Site] = {}
        self._tokens: dict[str, frozenset[str]] = {}
        self._set(sites)
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._last_refresh = -MIN_REFRESH_INTERVAL_S
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
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None and self._settings is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        assert self._settings is not None
        while True:
            await asyncio.sleep(self._settings.sites_refresh_s)
            await self.refresh()

    async def refresh(self) -> bool:
        """Reload from the warehouse; True on success. Keeps the last copy on failure."""
        if self._settings is None or self._client is None:
            return False
        self._last_refresh = time.monotonic()
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
        self._set(sites.values())
        self.loaded = True
        self.last_error = ""
        return True

    async def ensure(self, site_ids: Iterable[str] = (), token: str | None = None) -> None:
        """Refresh when a site id or token is unknown, at most once per second."""
        missing = any(s not in self._sites for s in site_ids) or (
            token is not None and token not in self._tokens
        )
        if not missing or self._settings is None:
            return
        async with self._lock:
            if time.monotonic() - self._last_refresh < MIN_REFRESH_INTERVAL_S:
                return
            await self.refresh()
