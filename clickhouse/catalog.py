"""Service catalog storage: versions, the default version and its history, per site.

Why versions: a province re-imports its catalog when services change level; earlier numbers
must stay explainable and a wrong import must be undone by switching the default back. Tables
and the visibility rule (service rows first, the version row last, the default after) are
described in migration 0021. Allocation of version numbers is serialised in this process
(the warehouse is the only writer in embedded mode).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clickhouse.client import Database
from schemas.workbooks import CatalogRow

_SERVICE_COLUMNS = ("site", "version", "row", "name", "level", "url", "id_cdvcqg", "id_mcdt")
_write_lock = threading.Lock()
_clock_guard = threading.Lock()
_last_ms = [0]


class CatalogError(LookupError):
    """A version or catalog that does not exist (``status`` 404)."""

    status = 404


@dataclass(frozen=True, slots=True)
class CatalogVersion:
    """One import: its number, when, from which file, how many rows, and whether it is the
    site's default now."""

    site: str
    version: int
    imported_at: datetime
    file_name: str
    rows: int
    sha256: str
    is_default: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "version": self.version,
            "imported_at": self.imported_at.isoformat(),
            "file_name": self.file_name,
            "rows": self.rows,
            "sha256": self.sha256,
            "is_default": self.is_default,
        }


def _now() -> datetime:
    """A strictly increasing millisecond time in this process (two default switches in one
    millisecond still order)."""
    with _clock_guard:
        _last_ms[0] = max(int(time.time() * 1000), _last_ms[0] + 1)
        return datetime.fromtimestamp(_last_ms[0] / 1000, tz=UTC)


def default_version(db: Database, site: str) -> int | None:
    """The site's default catalog version, or None when it has none."""
    rows = db.query(
        "SELECT version FROM catalog_default WHERE site = {site:String}", parameters={"site": site}
    ).result_rows
    return int(rows[0][0]) if rows else None


def import_catalog(
    db: Database,
    site: str,
    rows: list[CatalogRow],
    *,
    file_name: str,
    sha256: str,
    make_default: bool,
) -> CatalogVersion:
    """Store validated rows as the site's next version. It becomes the default when asked, or
    when the site has no default yet (a first catalog is always used)."""
    with _write_lock:
        last = db.query(
            "SELECT greatest((SELECT max(version) FROM catalog_versions WHERE site = {s:String}),"
            " (SELECT max(version) FROM catalog_services WHERE site = {s:String}))",
            parameters={"s": site},
        ).result_rows[0][0]
        version = int(last or 0) + 1
        db.insert(
            "catalog_services",
            [[site, version, r.row, r.name, r.level, r.url, r.id_cdvcqg, r.id_mcdt] for r in rows],
            _SERVICE_COLUMNS,
        )
        imported_at = _now()
        db.insert(
            "catalog_versions",
            [[site, version, imported_at, file_name, len(rows), sha256]],
            ("site", "version", "imported_at", "file_name", "rows", "sha256"),
        )
        is_default = make_default or default_version(db, site) is None
        if is_default:
            _set(db, site, version)
    return CatalogVersion(site, version, imported_at, file_name, len(rows), sha256, is_default)


def _set(db: Database, site: str, version: int) -> None:
    db.insert("catalog_defaults", [[site, version, _now()]], ("site", "version", "set_at"))


def set_default(db: Database, site: str, version: int) -> CatalogVersion:
    """Make ``version`` the site's default; ``CatalogError`` when it was never imported."""
    with _write_lock:
        known = [v for v in history(db, site) if v.version == version]
        if not known:
            raise CatalogError(f"version: site {site!r} has no catalog version {version}")
        _set(db, site, version)
    v = known[0]
    return CatalogVersion(v.site, v.version, v.imported_at, v.file_name, v.rows, v.sha256, True)


def history(db: Database, site: str) -> list[CatalogVersion]:
    """Every imported version of the site, oldest first, with the current default marked."""
    current = default_version(db, site)
    rows = db.query(
        "SELECT version, imported_at, file_name, rows, sha256 FROM catalog_versions "
        "WHERE site = {site:String} ORDER BY version",
        parameters={"site": site},
    ).result_rows
    return [
        CatalogVersion(
            site, int(r[0]), _aware(r[1]), str(r[2]), int(r[3]), str(r[4]), int(r[0]) == current
        )
        for r in rows
    ]


def default_changes(db: Database, site: str) -> list[dict[str, Any]]:
    """When each version was made the default, oldest first."""
    rows = db.query(
        "SELECT version, set_at FROM catalog_defaults WHERE site = {site:String} ORDER BY set_at",
        parameters={"site": site},
    ).result_rows
    return [{"version": int(r[0]), "set_at": _aware(r[1]).isoformat()} for r in rows]


def services(db: Database, site: str, version: int | None = None) -> tuple[int, list[CatalogRow]]:
    """The rows of ``version`` (default: the default version) in file order, with the version
    number; ``CatalogError`` when there is no such catalog."""
    if version is None:
        version = default_version(db, site)
        if version is None:
            raise CatalogError(f"site: {site!r} has no service catalog; import one first")
    elif not any(v.version == version for v in history(db, site)):
        raise CatalogError(f"version: site {site!r} has no catalog version {version}")
    rows = db.query(
        "SELECT row, name, level, url, id_cdvcqg, id_mcdt FROM catalog_services "
        "WHERE site = {site:String} AND version = {v:UInt32} ORDER BY row",
        parameters={"site": site, "v": version},
    ).result_rows
    return version, [
        CatalogRow(int(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4]), str(r[5])) for r in rows
    ]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
