"""The site registry stored in ClickHouse (table ``sites``, ReplacingMergeTree(updated_at)).

An upsert is a new row with a newer ``updated_at``; a delete is a new row with ``deleted = 1``.
Reads use ``FINAL`` so the latest row per id wins at once, without waiting for a merge. Writes
are rare (an operator adds a site), so the cost of ``FINAL`` on a small table is nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from clickhouse.client import Database
from schemas.sites import Site

log = logging.getLogger("emc.registry")

_COLUMNS = (
    "id",
    "name",
    "type",
    "domains",
    "timezone",
    "ingest_token",
    "agency_id",
    "parent_site",
    "matomo_id",
    "updated_at",
    "deleted",
)
_SELECT = (
    "SELECT id, name, type, domains, timezone, ingest_token, agency_id, parent_site, matomo_id"
    " FROM sites FINAL WHERE deleted = 0"
)

_clock_guard = threading.Lock()
_last_ms = [0]


def _next_version() -> datetime:
    """A strictly increasing millisecond timestamp in this process, so two writes of one site
    within the same millisecond still order (ReplacingMergeTree keeps the highest version)."""
    with _clock_guard:
        _last_ms[0] = max(int(time.time() * 1000), _last_ms[0] + 1)
        return datetime.fromtimestamp(_last_ms[0] / 1000, tz=UTC)


def _row_to_site(row: tuple[Any, ...]) -> Site:
    return Site(
        id=row[0],
        name=row[1],
        type=row[2],
        domains=tuple(row[3]),
        timezone=row[4],
        ingest_token=row[5],
        agency_id=row[6],
        parent_site=row[7],
        matomo_id=row[8],
    )


def _row(site: Site, deleted: int) -> list[Any]:
    return [
        site.id,
        site.name,
        site.type.value,
        list(site.domains),
        site.timezone,
        site.ingest_token,
        site.agency_id,
        site.parent_site,
        site.matomo_id,
        _next_version(),
        deleted,
    ]


def upsert_site(db: Database, site: Site) -> Site:
    """Store ``site`` (insert or replace by id); returns it."""
    db.insert("sites", [_row(site, 0)], _COLUMNS)
    return site


def get_site(db: Database, site_id: str) -> Site | None:
    """The site with ``site_id``, or None when unknown or deleted."""
    rows = db.query(f"{_SELECT} AND id = {{id:String}}", parameters={"id": site_id}).result_rows
    return _row_to_site(tuple(rows[0])) if rows else None


def list_sites(db: Database) -> list[Site]:
    """Every registered (not deleted) site, by id. A row that no longer validates (written by
    hand with SQL) is logged and left out, so one bad row cannot hide every other site."""
    sites = []
    for row in db.query(f"{_SELECT} ORDER BY id").result_rows:
        try:
            sites.append(_row_to_site(tuple(row)))
        except ValidationError as exc:
            log.warning("site %r in the registry is invalid, skipped: %s", row[0], exc)
    return sites


def delete_site(db: Database, site_id: str) -> bool:
    """Mark ``site_id`` deleted; returns False when it was not registered."""
    existing = get_site(db, site_id)
    if existing is None:
        return False
    db.insert("sites", [_row(existing, 1)], _COLUMNS)
    return True


def removal_blockers(db: Database, site_id: str) -> list[str]:
    """Why removing ``site_id`` would lose something: sites it manages (their ``parent_site``)
    and stored data (pageviews, dossier events). Empty when removal is harmless. The data stays
    in ClickHouse either way; the guard stops an operator from orphaning it by a typo."""
    reasons: list[str] = []
    children = [s.id for s in list_sites(db) if s.parent_site == site_id]
    if children:
        reasons.append(f"it manages sites {', '.join(children[:5])}")
    for table in ("pageviews", "dossier_events"):
        rows = db.query(
            f"SELECT count() FROM {table} WHERE site = {{id:String}}", parameters={"id": site_id}
        ).result_rows
        count = int(rows[0][0]) if rows else 0
        if count:
            reasons.append(f"{table} holds {count} rows for it")
    return reasons
