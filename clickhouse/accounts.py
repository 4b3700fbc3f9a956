"""Account list storage: each import of a site's account workbook; the latest is current.

Why replace rather than merge: the one-stop system exports its whole account list, so the
latest file is the truth; earlier imports stay for audit (table ``account_imports``).
Times in the file are the site's local wall clock and are stored as such (the ``*_local``
convention of every local column), so "new in period" compares local dates directly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clickhouse.client import Database
from schemas.workbooks import AccountRow

_COLUMNS = (
    "site", "import_id", "row", "id_local", "id_qg", "type", "created_local", "last_login_local",
)  # fmt: skip
_write_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class AccountImport:
    site: str
    import_id: int
    imported_at: datetime
    file_name: str
    rows: int

    def as_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "import_id": self.import_id,
            "imported_at": self.imported_at.isoformat(),
            "file_name": self.file_name,
            "rows": self.rows,
        }


def import_accounts(
    db: Database, site: str, rows: list[AccountRow], *, file_name: str, sha256: str
) -> AccountImport:
    """Store validated rows as the site's current account list (rows first, import last)."""
    with _write_lock:
        last = db.query(
            "SELECT greatest((SELECT max(import_id) FROM account_imports WHERE site = {s:String}),"
            " (SELECT max(import_id) FROM accounts WHERE site = {s:String}))",
            parameters={"s": site},
        ).result_rows[0][0]
        import_id = int(last or 0) + 1
        db.insert(
            "accounts",
            [
                [
                    site,
                    import_id,
                    r.row,
                    r.id_local,
                    r.id_qg,
                    r.type,
                    _utc(r.created),
                    _utc(r.last_login),
                ]
                for r in rows
            ],
            _COLUMNS,
        )
        now = datetime.now(tz=UTC)
        db.insert(
            "account_imports",
            [[site, import_id, now, file_name, len(rows), sha256]],
            ("site", "import_id", "imported_at", "file_name", "rows", "sha256"),
        )
    return AccountImport(site, import_id, now, file_name, len(rows))


def _utc(local: datetime | None) -> datetime | None:
    """A local wall-clock time written as if UTC (aware, so the client converts nothing)."""
    return None if local is None else local.replace(tzinfo=UTC)


def imports(db: Database, site: str) -> list[AccountImport]:
    """The site's account imports, newest first (the first is the current list)."""
    rows = db.query(
        "SELECT import_id, imported_at, file_name, rows FROM account_imports"
        " WHERE site = {site:String} ORDER BY import_id DESC",
        parameters={"site": site},
    ).result_rows
    return [AccountImport(site, int(r[0]), _aware(r[1]), str(r[2]), int(r[3])) for r in rows]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
