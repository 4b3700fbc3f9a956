"""Who may read the operations endpoints: ``/metrics`` and ``/stats`` of every process.

Rule (README "Security" → "Metrics and operations endpoints"):
- ``EMC_METRICS_TOKEN`` set: the collector's ``/metrics`` and ``/stats``, the stream worker's
  ``/metrics`` and ``/stats/`` and the warehouse's ``/metrics`` answer only a request with
  ``Authorization: Bearer <that token>``; the warehouse also takes the admin token (its
  dashboard's operations screen sends the signed-in token). Anything else: 401, JSON
  ``{"error": …}`` naming the setting.
- unset (or empty): open as before, so ``emc up``, ``emc status`` and a local Prometheus work
  without configuration, and each process logs one WARNING at start naming the setting. (A
  loopback-only default was not chosen: behind a reverse proxy on the same host every client
  is loopback, so it would look safe without being so.)

Tokens are compared in constant time (``hmac.compare_digest``, every accepted token compared).
Everything here is pure except ``warn_if_open``, which only logs.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping, Sequence

from core.settings import Settings

SETTING = "EMC_METRICS_TOKEN"
#: Sent with every 401, so a client knows which scheme to use.
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="emc-metrics"'}


def accepted_tokens(settings: Settings, *, admin_too: bool = False) -> tuple[bytes, ...]:
    """The tokens that open the operations endpoints; empty = open to every request.
    ``admin_too`` (the warehouse) adds the admin token when the metrics token is set."""
    if settings.metrics_token is None:
        return ()
    tokens = [settings.metrics_token.get_secret_value()]
    if admin_too:
        tokens.append(settings.admin_token.get_secret_value())
    return tuple(t.encode() for t in tokens if t)


def allowed(authorization: str | None, accepted: Sequence[bytes]) -> bool:
    """Whether a request with this ``Authorization`` header may read the endpoints."""
    if not accepted:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    given = token.strip().encode()
    if scheme.lower() != "bearer" or not given:
        return False
    match = False
    for expected in accepted:  # no early exit: the time does not say which token matched
        match |= hmac.compare_digest(given, expected)
    return match


def unauthorized_body(*, admin_too: bool = False) -> dict[str, str]:
    """The JSON of the 401 answer."""
    also = " (or the admin token)" if admin_too else ""
    return {
        "error": f"missing or wrong bearer token: this endpoint needs "
        f"Authorization: Bearer <{SETTING}>{also}"
    }


def probe_headers(settings: Settings) -> Mapping[str, str]:
    """What the CLI's probes of ``/metrics`` send: the metrics token when it is set."""
    if settings.metrics_token is None:
        return {}
    return {"Authorization": f"Bearer {settings.metrics_token.get_secret_value()}"}


def warn_if_open(
    settings: Settings, process: str, paths: Sequence[str], log: logging.Logger
) -> bool:
    """Log one WARNING when ``paths`` of ``process`` are open; True when it did."""
    if settings.metrics_token is not None:
        return False
    log.warning(
        "%s: %s answer anyone who can reach this port because %s is unset; "
        "set %s to require a bearer token (README: Security)",
        process,
        " and ".join(paths),
        SETTING,
        SETTING,
    )
    return True
