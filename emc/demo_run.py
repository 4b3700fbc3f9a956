"""Posting the demo: catalogs and accounts, then the history, then live traffic, over HTTP.

The thin I/O around the pure ``emc.demo.DemoTraffic``: catalogs and account lists through the
warehouse's import API (``emc.demo_setup``), history and live lines through the collector's
bulk endpoints ``/v1/hits`` and ``/v1/dossiers`` with the admin token — the real pipeline, with
event times, so the sessionizer and every view treat the history like any late data (event
time decides the day). History batches are posted in event-time order and the state file is
updated after each, so a restarted demo resumes where it stopped; a batch the collector cannot
take (unreachable, 5xx) is sent again after a pause, never skipped. Progress goes to the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from emc.demo import DemoTraffic, matomo_request
from emc.demo_data import DVC_MATOMO_ID, DVC_SITE
from emc.demo_setup import (
    ACCOUNT_SITES,
    CATALOG_SITES,
    HistoryState,
    accounts_workbook,
    catalog_workbook,
    load_state,
    save_state,
)

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger("emc.demo")

#: Lines per history request (the collector takes up to EMC_MAX_BATCH_LINES, 10,000).
HISTORY_BATCH = 2000
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def register_demo(settings: Settings) -> None:
    """Register the demo agencies, then the demo sites in them (the warehouse's API when it
    runs, else the database directly). Saving what is already there changes nothing."""
    from clickhouse import agencies
    from emc.demo_data import DEMO_AGENCIES, DEMO_SITES
    from emc.registry_cli import RegistryClient

    client = RegistryClient(settings)
    for agency in DEMO_AGENCIES:
        client.call(
            "PUT",
            f"/api/v1/agencies/{agency.id}",
            agency.model_dump(mode="json"),
            lambda db, agency=agency: agencies.upsert_agency(db, agency, None),  # type: ignore[misc]
        )
    for site in DEMO_SITES:
        client.put_site(site)


def _now_ms() -> int:
    return int(datetime.now(tz=UTC).timestamp() * 1000)


async def _post(client: httpx.AsyncClient, path: str, lines: list[dict[str, Any]]) -> int | None:
    """Accepted lines, or None when the batch should be sent again (unreachable, 5xx)."""
    if not lines:
        return 0
    try:
        response = await client.post(path, json=lines)
    except httpx.HTTPError as exc:
        log.warning("demo: %s unreachable (%s)", path, exc)
        return None
    if response.status_code >= 500:
        log.warning("demo: %s answered %s", path, response.status_code)
        return None
    if response.status_code >= 400 and response.status_code != 422:
        log.warning("demo: %s answered %s: %s", path, response.status_code, response.text[:300])
        return 0
    body = response.json()
    for rejected in body.get("rejected", [])[:3]:
        log.warning("demo: %s rejected a line: %s", path, rejected)
    return int(body.get("accepted", 0))


async def _post_matomo(client: httpx.AsyncClient, requests: list[str], token: str) -> int:
    """Post Matomo tracking requests as one bulk request; the number tracked."""
    if not requests:
        return 0
    try:
        response = await client.post(
            "/matomo.php", json={"requests": requests, "token_auth": token}
        )
    except httpx.HTTPError as exc:
        log.warning("demo: /matomo.php unreachable (%s)", exc)
        return 0
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    for invalid in body.get("invalid_requests", [])[:3]:
        log.warning("demo: /matomo.php refused a request: %s", invalid)
    return int(body.get("tracked", 0))


async def import_catalogs(warehouse_url: str, token: str, end_ms: int) -> None:
    """Import the demo catalog (as the default) and account lists, once per site: a site that
    already has a catalog version keeps it (the demo never adds versions on a restart)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=warehouse_url, headers=headers, timeout=120) as client:
        for site in CATALOG_SITES:
            history = await client.get(f"/api/v1/sites/{site}/catalog/history")
            if history.status_code == 200 and history.json().get("versions"):
                continue
            files = {"file": ("catalog.xlsx", catalog_workbook(), _XLSX)}
            answer = await client.post(
                f"/api/v1/sites/{site}/catalog", files=files, data={"default": "true"}
            )
            answer.raise_for_status()
            print(f"demo: catalog of {site}: {answer.json().get('rows')} services", flush=True)
        for site in ACCOUNT_SITES:
            files = {"file": ("accounts.xlsx", accounts_workbook(site, end_ms), _XLSX)}
            answer = await client.post(f"/api/v1/sites/{site}/accounts", files=files)
            answer.raise_for_status()
            print(f"demo: accounts of {site}: {answer.json().get('rows')} accounts", flush=True)


async def define_goals(
    warehouse_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None
) -> None:
    """Define the demo's goals (``DEMO_GOALS``, issue 17 item 4) through the warehouse API. A
    POST with an existing id replaces that goal, so every start may run it; a refusal is
    logged, never fatal (the demo's traffic does not depend on it)."""
    from emc.demo_data import DEMO_GOALS

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=warehouse_url, headers=headers, timeout=60, transport=transport
    ) as client:
        for goal in DEMO_GOALS:
            body = {k: v for k, v in goal.items() if k != "site"}
            try:
                answer = await client.post(f"/api/v1/sites/{goal['site']}/goals", json=body)
            except httpx.HTTPError as exc:
                log.warning("demo goal %s of %s not defined: %s", goal["id"], goal["site"], exc)
                continue
            if answer.status_code != 201:
                log.warning(
                    "demo goal %s of %s refused: %s", goal["id"], goal["site"], answer.text[:200]
                )


async def _post_all(
    client: httpx.AsyncClient,
    path: str,
    lines: list[dict[str, Any]],
    state: HistoryState,
    state_path: Path,
    stop: asyncio.Event,
) -> None:
    kind = "hits" if path == "/v1/hits" else "dossiers"
    posted = getattr(state, f"{kind}_posted")
    while posted < len(lines) and not stop.is_set():
        batch = lines[posted : posted + HISTORY_BATCH]
        if await _post(client, path, batch) is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)
            continue
        posted += len(batch)
        setattr(state, f"{kind}_posted", posted)
        save_state(state_path, state)
        if posted == len(lines) or (posted // HISTORY_BATCH) % 10 == 0:
            print(state.progress(), flush=True)


async def post_history(
    client: httpx.AsyncClient,
    state_path: Path,
    *,
    days: int,
    visits_per_day: float,
    warehouse_url: str | None,
    token: str,
    stop: asyncio.Event,
) -> HistoryState:
    """Set up catalogs and post the history once (see the module docstring)."""
    if warehouse_url:
        await define_goals(warehouse_url, token)
    state = load_state(state_path)
    if state is None or (state.days != days and not state.hits_posted):
        state = HistoryState(random.randrange(1 << 30), _now_ms(), days, visits_per_day)
        save_state(state_path, state)
    if state.done:
        print(state.progress() + " (earlier run; not posted again)", flush=True)
        return state
    if warehouse_url and not state.catalogs_done:
        await import_catalogs(warehouse_url, token, state.end_ms)
        state.catalogs_done = True
        save_state(state_path, state)
    started = time.monotonic()
    history = DemoTraffic(seed=state.seed).history(state.end_ms, state.days, state.visits_per_day)
    state.hits_total, state.dossiers_total = len(history.hits), len(history.dossiers)
    print(f"demo: generated {state.days} days of history in {time.monotonic() - started:.1f} s")
    print(state.progress(), flush=True)
    await _post_all(client, "/v1/hits", history.hits, state, state_path, stop)
    await _post_all(client, "/v1/dossiers", history.dossiers, state, state_path, stop)
    if not stop.is_set():
        state.done = True
        save_state(state_path, state)
        print(f"{state.progress()} in {time.monotonic() - started:.1f} s", flush=True)
    return state


async def run_demo(
    collector_url: str,
    token: str,
    *,
    rate_per_s: float,
    duration_s: float | None = None,
    tick_s: float = 1.0,
    stop: asyncio.Event | None = None,
    history_days: int = 0,
    history_visits_per_day: float = 400.0,
    state_path: Path | None = None,
    warehouse_url: str | None = None,
) -> tuple[int, int]:
    """Post the history (when ``history_days`` and ``state_path``), then live demo traffic
    until ``duration_s`` passes or ``stop`` is set; returns the live (hits, dossier events)
    accepted by the collector."""
    stop = stop or asyncio.Event()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=collector_url, headers=headers, timeout=60) as client:
        if history_days > 0 and state_path is not None:
            await post_history(
                client,
                state_path,
                days=history_days,
                visits_per_day=history_visits_per_day,
                warehouse_url=warehouse_url,
                token=token,
                stop=stop,
            )
        traffic = DemoTraffic(rate_per_s=rate_per_s, seed=random.randrange(1 << 30))
        loop = asyncio.get_running_loop()
        started = loop.time()
        hits_total = dossiers_total = 0
        print(f"demo: live traffic at {rate_per_s:g} pageviews/s", flush=True)
        while not stop.is_set() and (duration_s is None or loop.time() - started < duration_s):
            hits, dossiers = traffic.tick(_now_ms(), tick_s)
            tracker = [(h, matomo_request(h, DVC_MATOMO_ID)) for h in hits if h["site"] == DVC_SITE]
            requests = [q for _, q in tracker if q is not None]
            server = [h for h in hits if h["site"] != DVC_SITE]
            server += [h for h, q in tracker if q is None]
            hits_total += await _post(client, "/v1/hits", server) or 0
            hits_total += await _post_matomo(client, requests, token)
            dossiers_total += await _post(client, "/v1/dossiers", dossiers) or 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=tick_s)
    return hits_total, dossiers_total
