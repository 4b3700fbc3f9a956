"""Wire contracts only: pydantic models, topic names, partition keys. No I/O; imports nothing
of ours but itself."""

from schemas.deadletter import DeadLetter
from schemas.dossiers import DossierEvent, DossierEventIn, DossierStatus, RawDossierEvent
from schemas.hits import (
    BeaconHit,
    EnrichedHit,
    HitType,
    RawHit,
    ServerHit,
    SessionRow,
    SessionUpdate,
)

__all__ = [
    "BeaconHit",
    "DeadLetter",
    "DossierEvent",
    "DossierEventIn",
    "DossierStatus",
    "EnrichedHit",
    "HitType",
    "RawDossierEvent",
    "RawHit",
    "ServerHit",
    "SessionRow",
    "SessionUpdate",
]
