"""The site registry contract: a site belongs to an agency of the tree (schemas/agencies.py)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from schemas.common import SiteId

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

Domain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=1,
        max_length=253,
        pattern=r"^(\*\.)?[a-z0-9]([a-z0-9\-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]*[a-z0-9])?)*(:\d{1,5})?$",
    ),
]


class SiteType(StrEnum):
    PORTAL = "portal"
    DVC = "dvc"
    ONESTOP = "onestop"


class Site(BaseModel):
    """A registered site. Hits are accepted only for registered sites, and a beacon hit's URL
    host must be one of ``domains`` (``*.example.vn`` matches subdomains). ``ingest_token`` is
    the bearer token a site's servers use for ``/v1/hits`` and ``/v1/dossiers``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: SiteId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
    type: SiteType
    domains: tuple[Domain, ...] = Field(default=(), max_length=100)
    timezone: str = DEFAULT_TIMEZONE
    ingest_token: str = ""
    #: The owning agency (``""``: not yet placed in the tree; only the admin token sees it).
    agency_id: str = ""
    #: The managing parent site (e.g. a department portal managed by the province portal).
    parent_site: str = ""
    #: The Matomo ``idsite`` that existing EMC snippets send for this site (0: none).
    matomo_id: int = Field(default=0, ge=0, le=4_294_967_295)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r} (e.g. Asia/Ho_Chi_Minh)") from exc
        return value

    def owns_host(self, host: str) -> bool:
        """True when ``host`` (lower case, no port) is one of the site's domains."""
        host = host.lower().rstrip(".")
        for domain in self.domains:
            bare = domain.split(":", 1)[0]
            if bare.startswith("*."):
                if host == bare[2:] or host.endswith(bare[1:]):
                    return True
            elif host == bare:
                return True
        return False
