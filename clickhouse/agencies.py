"""The agency tree and its history stored in ClickHouse (tables ``agencies``,
``agency_history``; migration 0040).

Same versioning as the site registry: an upsert is a newer row, a delete a newer row with
``deleted = 1``, reads use ``FINAL``. Every change of name, parent or merger is also appended to
``agency_history`` with the date it took effect, so reports can say which name an agency had.
Raised ``RegistryError`` messages name the agency and what to fix; the API answers them 409/404.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from clickhouse import agency_tree, registry
from clickhouse.client import Database
from schemas.agencies import Agency, HistoryChange, HistoryEntry
from schemas.sites import Site

_COLUMNS = (
    "id",
    "name",
    "kind",
    "code",
    "parent_id",
    "merged_into",
    "ended_on",
    "updated_at",
    "deleted",
)
_SELECT = (
    "SELECT id, name, kind, code, parent_id, merged_into, ended_on FROM agencies FINAL"
    " WHERE deleted = 0"
)
_HISTORY_COLUMNS = (
    "agency_id",
    "change",
    "effective",
    "old_value",
    "new_value",
    "note",
    "recorded_at",
)


class RegistryError(ValueError):
    """A registry change that cannot be made; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def _agency(row: Any) -> Agency:
    return Agency(
        id=row[0],
        name=row[1],
        kind=row[2],
        code=row[3],
        parent_id=row[4],
        merged_into=row[5],
        ended_on=row[6],
    )


def _write(db: Database, agency: Agency, deleted: int = 0) -> None:
    row = [
        agency.id,
        agency.name,
        agency.kind.value,
        agency.code,
        agency.parent_id,
        agency.merged_into,
        agency.ended_on,
        registry._next_version(),
        deleted,
    ]
    db.insert("agencies", [row], _COLUMNS)


def _history(db: Database, entries: list[HistoryEntry]) -> None:
    if not entries:
        return
    now = datetime.now(UTC)
    rows = [
        [e.agency_id, e.change.value, e.effective, e.old_value, e.new_value, e.note, now]
        for e in entries
    ]
    db.insert("agency_history", rows, _HISTORY_COLUMNS)


def list_agencies(db: Database) -> list[Agency]:
    """Every agency (merged ones included, flagged by ``merged_into``), by id."""
    return [_agency(r) for r in db.query(f"{_SELECT} ORDER BY id").result_rows]


def get_agency(db: Database, agency_id: str) -> Agency | None:
    rows = db.query(f"{_SELECT} AND id = {{id:String}}", parameters={"id": agency_id})
    return _agency(rows.result_rows[0]) if rows.result_rows else None


def history(db: Database, agency_id: str) -> list[HistoryEntry]:
    """The agency's recorded changes, oldest effective date first."""
    rows = db.query(
        "SELECT agency_id, change, effective, old_value, new_value, note FROM agency_history"
        " WHERE agency_id = {id:String} ORDER BY effective, recorded_at",
        parameters={"id": agency_id},
    ).result_rows
    return [
        HistoryEntry(
            agency_id=r[0], change=r[1], effective=r[2], old_value=r[3], new_value=r[4], note=r[5]
        )
        for r in rows
    ]


def _check_parent(agencies: list[Agency], agency: Agency) -> None:
    if not agency.parent_id:
        return
    if agency.parent_id not in {a.id for a in agencies}:
        raise RegistryError(f"parent_id: agency {agency.parent_id!r} is not registered", status=422)
    if agency_tree.would_cycle(agencies, agency.id, agency.parent_id):
        raise RegistryError(
            f"parent_id: {agency.parent_id!r} is below {agency.id!r}; the tree cannot loop",
            status=422,
        )


def upsert_agency(db: Database, agency: Agency, effective: date | None = None) -> Agency:
    """Store ``agency``; a new name or parent is recorded in the history as of ``effective``
    (default today)."""
    agencies = list_agencies(db)
    _check_parent(agencies, agency)
    when = effective or date.today()
    old = next((a for a in agencies if a.id == agency.id), None)
    entries: list[HistoryEntry] = []
    if old is None:
        entries.append(
            HistoryEntry(
                agency_id=agency.id,
                change=HistoryChange.CREATED,
                effective=when,
                new_value=agency.name,
            )
        )
    else:
        if old.name != agency.name:
            entries.append(
                HistoryEntry(
                    agency_id=agency.id,
                    change=HistoryChange.RENAMED,
                    effective=when,
                    old_value=old.name,
                    new_value=agency.name,
                )
            )
        if old.parent_id != agency.parent_id:
            entries.append(
                HistoryEntry(
                    agency_id=agency.id,
                    change=HistoryChange.MOVED,
                    effective=when,
                    old_value=old.parent_id,
                    new_value=agency.parent_id,
                )
            )
    _write(db, agency)
    _history(db, entries)
    return agency


def rename_agency(db: Database, agency_id: str, name: str, effective: date) -> Agency:
    agency = _require(db, agency_id)
    return upsert_agency(db, agency.model_copy(update={"name": name}), effective)


def _require(db: Database, agency_id: str) -> Agency:
    agency = get_agency(db, agency_id)
    if agency is None:
        raise RegistryError(f"agency {agency_id!r} is not registered", status=404)
    return agency


def merge_agency(db: Database, source_id: str, into_id: str, effective: date) -> Agency:
    """Merge ``source_id`` into ``into_id`` as of ``effective``: the source's child agencies
    and sites move to the target, the source is kept with ``merged_into`` and ``ended_on`` (old
    data still names it), and both agencies' histories record the merger."""
    if source_id == into_id:
        raise RegistryError(f"into: an agency cannot be merged into itself ({source_id!r})", 422)
    source, target = _require(db, source_id), _require(db, into_id)
    if target.merged_into:
        raise RegistryError(
            f"into: agency {into_id!r} was itself merged into {target.merged_into!r}"
        )
    agencies = list_agencies(db)
    if into_id in agency_tree.subtree(agencies, source_id):
        raise RegistryError(f"into: {into_id!r} is below {source_id!r}; merge it upwards instead")
    for child in agencies:
        if child.parent_id == source_id:
            _write(db, child.model_copy(update={"parent_id": into_id}))
    for site in registry.list_sites(db):
        if site.agency_id == source_id:
            registry.upsert_site(db, site.model_copy(update={"agency_id": into_id}))
    merged = source.model_copy(update={"merged_into": into_id, "ended_on": effective})
    _write(db, merged)
    _history(
        db,
        [
            HistoryEntry(
                agency_id=source_id,
                change=HistoryChange.MERGED,
                effective=effective,
                new_value=into_id,
            ),
            HistoryEntry(
                agency_id=into_id,
                change=HistoryChange.ABSORBED,
                effective=effective,
                old_value=source_id,
            ),
        ],
    )
    return merged


def delete_agency(db: Database, agency_id: str) -> None:
    """Delete an agency that has no child agency and no site (else ``RegistryError`` 409
    naming them: move or remove them first, or merge the agency instead)."""
    agency = _require(db, agency_id)
    children = [a.id for a in list_agencies(db) if a.parent_id == agency_id]
    sites = [s.id for s in registry.list_sites(db) if s.agency_id == agency_id]
    if children or sites:
        what = []
        if children:
            what.append(f"child agencies {', '.join(children[:5])}")
        if sites:
            what.append(f"sites {', '.join(sites[:5])}")
        raise RegistryError(
            f"agency {agency_id!r} still has {' and '.join(what)}; move them or merge the agency"
        )
    _write(db, agency, deleted=1)


def subtree_sites(db: Database, agency_id: str) -> list[Site]:
    """The sites of ``agency_id`` and of every agency below it, by id."""
    ids = agency_tree.subtree(list_agencies(db), agency_id)
    return [s for s in registry.list_sites(db) if s.agency_id in ids]


def load(db: Database, entries: list[Agency], effective: date | None = None) -> int:
    """Upsert a file's agencies, parents first (``ValueError`` naming a dangling parent);
    returns how many were stored."""
    ordered = agency_tree.load_order(entries, (a.id for a in list_agencies(db)))
    for agency in ordered:
        upsert_agency(db, agency, effective)
    return len(ordered)
