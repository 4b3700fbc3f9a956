"""Dossier normalisation: ``RawDossierEvent`` (``emc.dossiers.raw``) → ``DossierEvent``
(``emc.dossiers``), a pure function.

``local_ms`` is the event time ``ts`` as wall clock in the event's timezone (the site's),
written as if UTC like every ``local_*`` column. Unknown optional values become what the model
documents: "" for texts and enums, 0 for times, -1 for ``fee_paid_online`` and ``digitized``. Raises
``UnknownTimezone`` (a ``ValueError``) when ``tz`` is not a known IANA name.
"""

from __future__ import annotations

from enum import Enum

from schemas.dossiers import DossierEvent, RawDossierEvent
from streams.enrich.localtime import local_ms


def _text(value: Enum | None) -> str:
    return "" if value is None else str(value.value)


def _ms(value: int | None) -> int:
    return 0 if value is None else value


def normalise(raw: RawDossierEvent) -> DossierEvent:
    """The normalised event (see the module docstring)."""
    return DossierEvent(
        event_id=raw.event_id,
        site=raw.site,
        dossier_code=raw.dossier_code,
        procedure_code=raw.procedure_code,
        procedure_name=raw.procedure_name,
        status=raw.status,
        ts=raw.ts,
        local_ms=local_ms(raw.ts, raw.tz),
        received_ms=raw.received_ms,
        channel=_text(raw.channel),
        source=_text(raw.source),
        submitted_by=_text(raw.submitted_by),
        agency=raw.agency,
        admin_level=_text(raw.admin_level),
        submitted_at=_ms(raw.submitted_at),
        received_at=_ms(raw.received_at),
        due_at=_ms(raw.due_at),
        resolved_at=_ms(raw.resolved_at),
        returned_at=_ms(raw.returned_at),
        fee_paid_online=-1 if raw.fee_paid_online is None else int(raw.fee_paid_online),
        digitized=-1 if raw.digitized is None else int(raw.digitized),
    )
