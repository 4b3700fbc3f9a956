"""The agency tree (DESIGN §3 "Service catalog, accounts, sites").

Agencies form a tree: a ministry or a province at the top, its departments below, communes
below those. Sites belong to an agency and numbers roll up the tree. An agency that was merged
into another keeps its id (old data and history still name it) with ``merged_into`` and
``ended_on`` set; its sites and children move to the agency it was merged into.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from schemas.common import SiteId, describe

AgencyId = SiteId
"""Agency ids follow the site id rules: letters, digits, ``. _ -``, at most 64 characters."""


class AgencyKind(StrEnum):
    MINISTRY = "ministry"
    MINISTRY_LEVEL = "ministry_level"  # cơ quan ngang bộ
    GOVERNMENT_AGENCY = "government_agency"  # cơ quan thuộc Chính phủ
    PROVINCE = "province"  # tỉnh / thành phố trực thuộc trung ương
    DEPARTMENT = "department"  # sở, ban, ngành; cục, vụ
    COMMUNE = "commune"  # xã, phường, đặc khu
    OTHER = "other"


#: Kinds that sit at the top of the tree and are ranked against each other.
TOP_KINDS = frozenset(
    {
        AgencyKind.MINISTRY,
        AgencyKind.MINISTRY_LEVEL,
        AgencyKind.GOVERNMENT_AGENCY,
        AgencyKind.PROVINCE,
    }
)


class Agency(BaseModel):
    """One agency. ``parent_id`` is ``""`` at the top of the tree; ``code`` is the official
    code where one exists (e.g. the administrative-unit code of a province)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: AgencyId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
    kind: AgencyKind
    code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] = ""
    parent_id: str = ""
    merged_into: str = ""
    ended_on: date | None = None


class HistoryChange(StrEnum):
    CREATED = "created"
    RENAMED = "renamed"
    MOVED = "moved"
    MERGED = "merged"  # this agency was merged into new_value
    ABSORBED = "absorbed"  # this agency absorbed old_value


class HistoryEntry(BaseModel):
    """A change of an agency with the date it took effect (not the date it was recorded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency_id: str
    change: HistoryChange
    effective: date
    old_value: str = ""
    new_value: str = ""
    note: str = ""


def parse_agencies(payload: Any) -> list[Agency]:
    """Agencies of a load file (a JSON list, or ``{"agencies": [...]}``); ``ValueError``
    naming the 1-based entry and field of the first invalid one."""
    if isinstance(payload, dict) and "agencies" in payload:
        payload = payload["agencies"]
    if not isinstance(payload, list):
        raise ValueError('expected a JSON list of agencies (or {"agencies": [...]})')
    out: list[Agency] = []
    seen: set[str] = set()
    for number, entry in enumerate(payload, start=1):
        try:
            agency = Agency.model_validate(entry)
        except ValidationError as exc:
            raise ValueError(describe(exc, f"entry {number}: ")) from exc
        if agency.id in seen:
            raise ValueError(f"entry {number}: id {agency.id!r} appears twice")
        seen.add(agency.id)
        out.append(agency)
    return out
