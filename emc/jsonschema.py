"""JSON Schema export of the wire formats, for integrators (``emc schema``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from schemas import (
    BeaconHit,
    DeadLetter,
    DossierEvent,
    DossierEventIn,
    EnrichedHit,
    RawDossierEvent,
    RawHit,
    ServerHit,
    SessionUpdate,
)
from schemas.sites import Site

#: Public name → model. The first three are what senders post; the rest travel in Kafka.
EXPORTED: dict[str, type[BaseModel]] = {
    "beacon-hit": BeaconHit,
    "server-hit": ServerHit,
    "dossier-event": DossierEventIn,
    "site": Site,
    "raw-hit": RawHit,
    "raw-dossier-event": RawDossierEvent,
    "enriched-hit": EnrichedHit,
    "session-update": SessionUpdate,
    "normalised-dossier-event": DossierEvent,
    "dead-letter": DeadLetter,
}


def export_schemas() -> dict[str, dict[str, Any]]:
    """Every exported model's JSON Schema (validation mode: what a sender may post)."""
    return {
        name: model.model_json_schema(by_alias=True, mode="validation")
        for name, model in EXPORTED.items()
    }
