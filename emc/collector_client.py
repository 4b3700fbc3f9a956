"""How the CLI asks the running collector whether it accepts a site yet.

``emc sites add`` stores the site through the warehouse, then waits here until the collector's
copy of the registry has it (``GET /sites/{id}/ready`` with the admin token; the collector
answers after a registry load that started after the question), so the first hits sent after
the command returns are accepted. Bounded by ``READY_WAIT_S``. A collector that is not running
(or too old to have the route) is not a problem: it loads the registry when it starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import httpx

from core.settings import Settings

#: How long ``emc sites add`` waits for the collector at most.
READY_WAIT_S = 5.0
#: Pause between two questions while the collector answers "not yet".
_RETRY_S = 0.2


class Readiness(StrEnum):
    READY = "ready"
    NOT_RUNNING = "not running"
    NOT_YET = "not yet"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Answer:
    state: Readiness
    url: str
    detail: str = ""


def wait_site_ready(
    settings: Settings,
    site_id: str,
    *,
    timeout_s: float = READY_WAIT_S,
    client: httpx.Client | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """Ask until the collector knows ``site_id`` or ``timeout_s`` ran out (never raises)."""
    url = settings.collector_url
    token = settings.admin_token.get_secret_value()
    http = client or httpx.Client(base_url=url, timeout=httpx.Timeout(5.0, connect=1.0))
    deadline = clock() + timeout_s
    try:
        while True:
            try:
                response = http.get(
                    f"/sites/{site_id}/ready", headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.TransportError:
                return Answer(Readiness.NOT_RUNNING, url)
            if response.status_code == 200:
                return Answer(Readiness.READY, url)
            body = _json(response)
            if response.status_code != 404 or "ready" not in body:
                if response.status_code == 404:  # a collector without the route
                    return Answer(Readiness.NOT_RUNNING, url, "no /sites/{id}/ready route")
                detail = str(body.get("error") or response.text)[:200]
                return Answer(Readiness.REFUSED, url, f"{response.status_code}: {detail}")
            if clock() + _RETRY_S >= deadline:
                return Answer(Readiness.NOT_YET, url, str(body.get("registry_error") or ""))
            sleep(_RETRY_S)
    finally:
        if client is None:
            http.close()


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
