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

_COLUMNS = ("id", "name", "type", "domains", "timezone", "ingest_token", "updated_at", "deleted")
_SELECT = (
    "SELECT id, name, type, domains, timezone, ingest_token FROM sites FINAL WHERE deleted = 0"
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
    )


def upsert_site(db: Database, site: Site) -> Site:
    """Store ``site`` (insert or replace by id); returns it."""
    row = [
        site.id,
        site.name,
        site.type.value,
        list(site.domains),
        site.timezone,
        site.ingest_token,
        _next_version(),
        0,
    ]
    db.insert("sites", [row], _COLUMNS)
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
    row = [
        existing.id,
        existing.name,
        existing.type.value,
        list(existing.domains),
        existing.timezone,
        existing.ingest_token,
        _next_version(),
        1,
    ]
    db.insert("sites", [row], _COLUMNS)
    return True
