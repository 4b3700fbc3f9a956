"""One demo dossier's life as ``POST /v1/dossiers`` lines: a pure function of a seeded RNG.

Submitted (online, pushed under the public-service portal the way EMC senders do, or under the
one-stop system for the national portal's dossiers) → received by the one-stop system with a
promised due time → processing → sometimes a supplement or a fee request → resolved on time
(about four in five) or late, then returned; a few are rejected or withdrawn. Times scale with
``day_ms``: a real day for the history, seconds for live traffic. Papers are digitised at
reception three times in four (Decision 766 *số hóa hồ sơ*).

Why one function: history and live traffic must produce the same kinds of dossiers so that
every one-stop, DVC, quarterly-form and scorecard number has data behind it either way.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from emc.demo_data import DVC_SITE, ONESTOP_SITE, ONLINE_SHARE, Procedure


def dossier_lines(
    rng: random.Random,
    new_id: Callable[[], str],
    *,
    code: str,
    procedure: Procedure,
    start_ms: int,
    day_ms: int,
    via_dvc: bool = False,
) -> list[dict[str, Any]]:
    """Every event of one dossier starting at ``start_ms`` (submission when online, else
    reception), in time order. ``via_dvc``: submitted on the demo's public-service portal (the
    tracker also saw it); otherwise online-or-direct is drawn from the level's online share."""
    online = via_dvc or rng.random() < ONLINE_SHARE.get(procedure.level, 0.45)
    source = "dvc_portal" if via_dvc else ("national_portal" if online else "other")
    base: dict[str, Any] = {
        "dossier_code": code,
        "procedure_code": procedure.code,
        "procedure_name": procedure.name,
        "channel": "online" if online else rng.choice(("direct", "direct", "direct", "postal")),
        "source": source,
        "submitted_by": "citizen" if rng.random() < 0.85 else "officer",
        "admin_level": rng.choices(("province", "district", "commune"), (2, 3, 5))[0],
    }
    out: list[dict[str, Any]] = []

    def emit(site: str, status: str, ts: int, **extra: Any) -> None:
        line = {"event_id": new_id(), "site": site, **base, "status": status, "ts": ts, **extra}
        out.append(line)

    received = start_ms
    if online:
        # the portal's dossiers are pushed under the portal (9 in 10: a few pushes are lost,
        # so the DVC screen shows tracker-only submissions too), the others under the one-stop
        if not via_dvc or rng.random() < 0.9:
            emit(
                DVC_SITE if via_dvc else ONESTOP_SITE, "submitted", start_ms, submitted_at=start_ms
            )
        received = start_ms + int(rng.uniform(0.05, 0.8) * day_ms)
    due = received + procedure.days * day_ms
    times = {"received_at": received, "due_at": due}
    if rng.random() < 0.02:
        emit(ONESTOP_SITE, "rejected", received, received_at=received)
        return out
    emit(ONESTOP_SITE, "received", received, **times, digitized=rng.random() < 0.75)
    now = received + int(rng.uniform(0.02, 0.2) * day_ms)
    emit(ONESTOP_SITE, "processing", now, **times)
    if rng.random() < 0.01:
        emit(ONESTOP_SITE, "withdrawn", now + int(0.5 * day_ms), **times)
        return out
    if rng.random() < 0.06:
        now += int(rng.uniform(0.1, 0.3) * procedure.days * day_ms)
        emit(ONESTOP_SITE, "supplement_requested", now, **times)
    fee: dict[str, Any] = {}
    if procedure.fee:
        now += int(rng.uniform(0.05, 0.2) * day_ms)
        fee = {"fee_paid_online": online and rng.random() < 0.7}
        emit(ONESTOP_SITE, "payment_requested", now, **times, **fee)
    late = rng.random() < 0.18
    share = rng.uniform(1.05, 1.8) if late else rng.uniform(0.3, 0.98)
    resolved = max(now + 1000, received + int(share * procedure.days * day_ms))
    emit(ONESTOP_SITE, "resolved", resolved, **times, resolved_at=resolved)
    returned = resolved + int(rng.uniform(0.05, 1.0) * day_ms)
    emit(ONESTOP_SITE, "returned", returned, **times, **fee, returned_at=returned)
    return out
