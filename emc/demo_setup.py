"""What the demo sets up once: its service catalogs and account lists, and its history's state.

Catalogs and accounts go through the warehouse's own import API (``POST
/api/v1/sites/{id}/catalog`` and ``…/accounts``, README "Service catalog and accounts"), as
workbooks built here in the import layout, so the demo exercises the path users take. The
catalog is the demo's ``PROCEDURES`` (levels 4, 3 and 0): the codes its dossiers and DVC
submissions use, so the one-stop, DVC, quarterly and scorecard numbers are not "—".

The history's state is a small JSON file under the data folder (``demo-history.json``, next to
the warehouse's data, so ``make clean`` forgets both at once): the seed and end time the history
was generated with, how many lines were posted, and whether it is complete. A restarted demo
regenerates the same lines (same seed, same end) and posts only the rest, so history is never
doubled; a complete one is not posted again. Pure builders, file I/O in two small functions.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from emc.demo_data import DVC_SITE, ONESTOP_SITE, PROCEDURES
from schemas.workbooks import CatalogRow, write_catalog

_VN = timedelta(hours=7)
ACCOUNT_COLUMNS = ("ID_local", "ID_QG", "TYPE", "CREATDATE_USER", "LAST_LOGIN")
STATE_FILE = "demo-history.json"


def catalog_workbook() -> bytes:
    """The demo catalog as an import workbook (``ID MCDT`` = ``ID CDVCQG`` = the code)."""
    rows = [
        CatalogRow(
            row=index + 2,
            name=p.name,
            level=p.level,
            url=f"https://dichvucong.hanoi.gov.vn/thu-tuc/{p.code}" if p.level else "",
            id_cdvcqg=p.code if p.level else "",
            id_mcdt=p.code,
        )
        for index, p in enumerate(PROCEDURES)
    ]
    return write_catalog(rows)


def account_rows(site: str, end_ms: int, seed: int = 11) -> list[list[object]]:
    """Accounts of a demo site, dates in Vietnam time: on the public-service portal citizens
    (type 2) and businesses (type 1), six in ten linked to the national portal, a third
    created and most logged in within the last 90 days; on the one-stop system, officers
    (type 3)."""
    rng = random.Random(f"{seed}:{site}")
    end = datetime.fromtimestamp(end_ms / 1000, tz=UTC).replace(tzinfo=None) + _VN
    officers = site == ONESTOP_SITE
    rows: list[list[object]] = []
    for n in range(30 if officers else 800):
        kind = 3 if officers else (1 if rng.random() < 0.15 else 2)
        recent = rng.random() < 0.35
        created = end - timedelta(days=rng.uniform(0, 90) if recent else rng.uniform(90, 1100))
        login: datetime | None = None
        if rng.random() < 0.8:
            login = end - timedelta(days=rng.uniform(0, min(89.9, (end - created).days)))
        linked = not officers and rng.random() < 0.6
        rows.append(
            [
                f"{'cb' if officers else 'u'}-{n + 1:05d}",
                f"QG-{880000 + n}" if linked else "",
                kind,
                created.replace(microsecond=0),
                login.replace(microsecond=0) if login else None,
            ]
        )
    return rows


def accounts_workbook(site: str, end_ms: int) -> bytes:
    """``account_rows`` as an import workbook."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="accounts")
    sheet.append(list(ACCOUNT_COLUMNS))
    for row in account_rows(site, end_ms):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


#: The sites that get the catalog (a dossier's level comes from its own site's catalog).
CATALOG_SITES = (DVC_SITE, ONESTOP_SITE)
ACCOUNT_SITES = (DVC_SITE, ONESTOP_SITE)


@dataclass
class HistoryState:
    """Where the demo's history stands (see the module docstring)."""

    seed: int
    end_ms: int
    days: int
    visits_per_day: float
    hits_posted: int = 0
    dossiers_posted: int = 0
    hits_total: int = 0
    dossiers_total: int = 0
    catalogs_done: bool = False
    done: bool = False

    def progress(self) -> str:
        """One line for people: what is posted so far."""
        total = self.hits_total + self.dossiers_total
        posted = self.hits_posted + self.dossiers_posted
        pct = 100.0 * posted / total if total else 0.0
        state = "complete" if self.done else f"{pct:.0f} %"
        return (
            f"demo history ({self.days} days): {state}, {self.hits_posted:,} of "
            f"{self.hits_total:,} hits and {self.dossiers_posted:,} of "
            f"{self.dossiers_total:,} dossier events posted"
        )


def load_state(path: Path) -> HistoryState | None:
    """The saved state, or None when there is none (or it is unreadable: start afresh)."""
    try:
        return HistoryState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def save_state(path: Path, state: HistoryState) -> None:
    """Write the state atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state)))
    tmp.replace(path)
