"""Dossier event contracts: what one-stop systems push, and what travels in Kafka.

A dossier is (site, dossier code). Events may arrive late, out of order and twice; ``event_id``
makes a resend harmless. Flow: ``DossierEventIn`` (HTTP) → ``RawDossierEvent``
(``emc.dossiers.raw``) → ``DossierEvent`` (``emc.dossiers``, normalised by the streams).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, model_validator

from schemas.common import INTERNAL, STRICT, EpochMs, ShortText, SiteId


class DossierStatus(StrEnum):
    SUBMITTED = "submitted"
    RECEIVED = "received"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    PAYMENT_REQUESTED = "payment_requested"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"
    RESOLVED = "resolved"
    RETURNED = "returned"


class Channel(StrEnum):
    ONLINE = "online"
    DIRECT = "direct"
    POSTAL = "postal"


class Source(StrEnum):
    DVC_PORTAL = "dvc_portal"
    NATIONAL_PORTAL = "national_portal"
    OTHER = "other"


class SubmittedBy(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"


class AdminLevel(StrEnum):
    CENTRAL = "central"
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


class DossierEventIn(BaseModel):
    """One line of ``POST /v1/dossiers``. ``ts`` is when the state change happened."""

    model_config = STRICT

    event_id: ShortText
    site: SiteId
    dossier_code: ShortText
    procedure_code: ShortText = ""
    procedure_name: ShortText = ""
    status: DossierStatus
    ts: EpochMs
    channel: Channel | None = None
    source: Source | None = None
    submitted_by: SubmittedBy | None = None
    agency: ShortText = ""
    admin_level: AdminLevel | None = None
    submitted_at: EpochMs | None = None
    received_at: EpochMs | None = None
    due_at: EpochMs | None = None
    resolved_at: EpochMs | None = None
    returned_at: EpochMs | None = None
    fee_paid_online: bool | None = None
    #: the dossier's papers were digitised at reception (Decision 766 "số hóa hồ sơ")
    digitized: bool | None = None

    @model_validator(mode="after")
    def _codes_not_blank(self) -> DossierEventIn:
        if not self.event_id:
            raise ValueError("event_id must not be empty")
        if not self.dossier_code:
            raise ValueError("dossier_code must not be empty")
        return self


class RawDossierEvent(DossierEventIn):
    """A validated dossier event as the collector puts it on ``emc.dossiers.raw``."""

    model_config = INTERNAL

    tz: str
    received_ms: int


class DossierEvent(BaseModel):
    """A normalised dossier event on ``emc.dossiers``; one row of the raw ``dossier_events``
    table. Unknown optional values are empty strings / 0 so ClickHouse columns stay simple;
    ``*_ms`` of 0 means unknown. ``local_ms`` is the event time as local wall clock."""

    model_config = INTERNAL

    event_id: str
    site: str
    dossier_code: str
    procedure_code: str = ""
    procedure_name: str = ""
    status: DossierStatus
    ts: int
    local_ms: int
    received_ms: int
    channel: str = ""
    source: str = ""
    submitted_by: str = ""
    agency: str = ""
    admin_level: str = ""
    submitted_at: int = 0
    received_at: int = 0
    due_at: int = 0
    resolved_at: int = 0
    returned_at: int = 0
    fee_paid_online: int = -1  # -1 unknown, 0 no, 1 yes
    digitized: int = -1  # -1 unknown, 0 no, 1 yes
