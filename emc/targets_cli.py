"""``emc targets import|list`` and ``emc reconciliation upload|show`` (issue 18 items 4, 6).

Like ``emc catalog``: through the warehouse's HTTP API with the admin token when it runs (in
embedded mode the warehouse process owns the chDB folder), else on the database directly, with
the same checks (``indicators.targets.refuser``: with ``--agency ID`` only rows strictly below
ID are taken, as if ID's editor imported the file). Row problems are printed one per line; the
command exits 1 when nothing was stored.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.settings import Settings
from emc.catalog_cli import _checked, _direct, _http, _NotRunning, _report

_NOTHING = "nothing imported"


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    return path.read_bytes()


def _post(settings: Settings, path: str, file: Path, agency: str | None) -> dict[str, Any]:
    """The HTTP import's answer (a 422 'nothing imported' raises with the report)."""
    params = {"agency": agency} if agency else {}
    answer = _http(settings, "POST", path, files={"file": (file.name, _read(file))}, params=params)
    return dict(_checked(answer))


def _printed(done: dict[str, Any], what: str) -> int:
    print(f"{what}: {done['imported']} rows stored, {done['problem_count']} refused")
    if done["problem_count"]:
        print(_report({"error": "refused rows:", **done}))
    return 0 if done["imported"] else 1


def _import_targets(settings: Settings, file: Path, agency: str | None) -> dict[str, Any]:
    try:
        return _post(settings, "/api/v1/targets/import", file, agency)
    except _NotRunning:
        pass
    from clickhouse import targets as storage
    from clickhouse import tokens
    from indicators import targets
    from indicators.access import ADMIN, Principal, in_subtree
    from schemas.target_workbooks import read_targets
    from schemas.workbooks import ImportRefused, Problem

    db = _direct(settings)
    acting = ADMIN
    if agency:
        if not in_subtree(db, ADMIN, agency):
            raise UserError(f"--agency: agency {agency!r} is not registered")
        acting = Principal(agency, tokens.EDITOR)
    try:
        rows, problems = read_targets(_read(file), targets.METRICS)
    except ImportRefused as exc:
        raise UserError(_report(exc.report())) from None
    good = []
    check = targets.refuser(db, acting)
    for r in rows:
        refusal = check(r.agency)
        if refusal is None:
            good.append(storage.Target(r.agency, r.metric, r.year, r.value))
        else:
            problems.append(Problem(r.row, "Agency", refusal))
    stored = storage.put_targets(db, good, "cli")
    return {
        "imported": len(stored),
        "problem_count": len(problems),
        "problems": [p.as_json() for p in sorted(problems, key=lambda p: (p.row, p.column))],
    }


def _list_targets(settings: Settings, agency: str | None, year: int | None) -> dict[str, Any]:
    params = {k: str(v) for k, v in (("agency", agency), ("year", year)) if v}
    try:
        return dict(_checked(_http(settings, "GET", "/api/v1/targets", params=params)))
    except _NotRunning:
        pass
    from clickhouse import agencies, agency_tree
    from clickhouse import targets as storage
    from indicators import targets

    db = _direct(settings)
    now = targets.local_now(time.time())
    scope = None
    if agency:
        every = agencies.list_agencies(db)
        if agency not in {a.id for a in every}:
            raise UserError(f"--agency: agency {agency!r} is not registered")
        scope = agency_tree.subtree(every, agency)
    found = storage.list_targets(db, scope, year=year or now.year)
    return {"agency": agency, "year": year or now.year, **targets.report(db, found, now)}


def run_targets(args: argparse.Namespace, settings: Settings) -> int:
    """``emc targets ACTION``."""
    if args.targets_cmd == "import":
        return _printed(_import_targets(settings, args.file, args.agency), "targets")
    answer = _list_targets(settings, args.agency, args.year)
    if args.format == "json":
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0
    from emc.cli import format_table

    columns = ["agency", "metric", "year", "target", "actual", "progress_pct", "forecast",
               "forecast_pct", "on_track"]  # fmt: skip
    print(format_table(columns, [[r[c] for c in columns] for r in answer["targets"]]))
    laggards = ", ".join(f"{r['agency']}/{r['metric']}" for r in answer["laggards"])
    print(f"laggards (worst first): {laggards or 'none'}")
    return 0


def _upload(settings: Settings, file: Path, agency: str) -> dict[str, Any]:
    try:
        return _post(settings, "/api/v1/reconciliation", file, agency)
    except _NotRunning:
        pass
    from clickhouse import agencies
    from clickhouse import reconciliation as storage
    from schemas.target_workbooks import read_totals
    from schemas.workbooks import ImportRefused, Problem

    db = _direct(settings)
    if agencies.get_agency(db, agency) is None:
        raise UserError(f"--agency: agency {agency!r} is not registered")
    own = {s.id for s in agencies.subtree_sites(db, agency)}
    try:
        rows, problems = read_totals(_read(file))
    except ImportRefused as exc:
        raise UserError(_report(exc.report())) from None
    good = [r for r in rows if r.site in own]
    problems += [
        Problem(r.row, "Site", f"site {r.site!r} is not a registered site of agency {agency!r}")
        for r in rows
        if r.site not in own
    ]
    storage.store_totals(
        db, good, agency=agency, upload_id=uuid.uuid4().hex[:12], file_name=file.name,
        uploaded_by="cli", uploaded_at=datetime.now(tz=UTC),
    )  # fmt: skip
    return {
        "imported": len(good),
        "problem_count": len(problems),
        "problems": [p.as_json() for p in sorted(problems, key=lambda p: (p.row, p.column))],
    }


def _show(settings: Settings, agency: str) -> dict[str, Any]:
    try:
        return dict(
            _checked(_http(settings, "GET", "/api/v1/reconciliation", params={"agency": agency}))
        )
    except _NotRunning:
        pass
    from clickhouse import agencies
    from indicators import reconciliation

    db = _direct(settings)
    sites = sorted(s.id for s in agencies.subtree_sites(db, agency))
    if not sites:
        raise UserError(f"--agency: agency {agency!r} is not registered or has no site")
    return {"sites": sites, **reconciliation.compare(db, sites, None, None)}


def run_reconciliation(args: argparse.Namespace, settings: Settings) -> int:
    """``emc reconciliation ACTION``."""
    if args.reconciliation_cmd == "upload":
        return _printed(_upload(settings, args.file, args.agency), "reconciliation")
    answer = _show(settings, args.agency)
    if args.format == "json":
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0
    from emc.cli import format_table
    from indicators.reconciliation import COLUMNS

    print(format_table(COLUMNS, [[r[c] for c in COLUMNS] for r in answer["rows"]]))
    for row in answer["rows"]:
        if "days" in row:
            silent = [d["date"] for d in row["days"] if d["received"] == 0]
            print(f"{row['site']} {row['procedure']} {row['month']}: days without any "
                  f"received dossier: {', '.join(silent) or 'none'}")  # fmt: skip
    return 0


def register(sub: Any) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Add ``targets`` and ``reconciliation`` to the ``emc`` parser; returns both (the caller
    sets their handlers)."""
    targets = sub.add_parser("targets", help="yearly targets (chỉ tiêu): import, list")
    actions = targets.add_subparsers(dest="targets_cmd", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="import an .xlsx of targets (good rows are kept)")
    imp.add_argument("file", type=Path, help="workbook: Agency, Metric, Year, Target")
    imp.add_argument("--agency", help="import as this agency: only rows strictly below it")
    lst = actions.add_parser("list", help="targets with actual, progress, forecast, laggards")
    lst.add_argument("--agency", help="this agency's subtree (default: every agency)")
    lst.add_argument("--year", type=int, help="the year (default: this year)")
    lst.add_argument("--format", choices=["table", "json"], default="table")
    recon = sub.add_parser("reconciliation", help="đối soát: an agency's own totals vs ours")
    racts = recon.add_subparsers(dest="reconciliation_cmd", required=True, metavar="ACTION")
    up = racts.add_parser("upload", help="upload .xlsx totals per site, procedure and month")
    up.add_argument("file", type=Path, help="workbook: Site, Procedure, Month, Received, Resolved")
    up.add_argument("--agency", required=True, help="whose totals (its subtree's sites)")
    show = racts.add_parser("show", help="the differences per procedure and month, and days")
    show.add_argument("--agency", required=True, help="agency id")
    show.add_argument("--format", choices=["table", "json"], default="table")
    return targets, recon
