"""``emc rebuild --from DATE --to DATE [--site ID ...] [--dry-run]``: recompute rollups from the
raw tables (``clickhouse/rebuild.py``), printing the plan and one line per table and partition.

Why a separate module: emc/cli.py only registers the parser and calls ``run_rebuild``. The
command talks to ClickHouse directly (like ``emc migrate``); with embedded chDB only one process
may open the data folder, so stop the warehouse first.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from typing import Any

from core.errors import UserError
from core.settings import Settings

_HELP = """\
Recompute every rollup (hits_hourly, pages_daily, visits_hourly, visits_by_dim_daily,
dossier_state, site_receipts_hourly and any other materialized view's table) from the raw
tables for local dates FROM..TO. Each partition is built in a staging table and swapped in
atomically; ranges widen to whole partitions (a day of a monthly rollup rebuilds its month)
and the plan says so. With --site, only those sites' rows change. With embedded chDB, stop the
warehouse first (one process per data folder); with a ClickHouse server, stop the sink or
rebuild only partitions that receive no inserts meanwhile.
"""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``rebuild`` on the emc subparsers."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "rebuild",
        help="recompute rollups from the raw tables for a date range",
        description=_HELP,
    )
    parser.add_argument(
        "--from", dest="start", type=_date, required=True, metavar="DATE",
        help="first local date (YYYY-MM-DD)",
    )  # fmt: skip
    parser.add_argument(
        "--to", dest="end", type=_date, required=True, metavar="DATE",
        help="last local date (YYYY-MM-DD), inclusive",
    )  # fmt: skip
    parser.add_argument(
        "--site", action="append", default=[], metavar="ID",
        help="rebuild only this site (repeatable; default: every site)",
    )  # fmt: skip
    parser.add_argument(
        "--dry-run", action="store_true",
        help="print the partitions that would be rebuilt, change nothing",
    )  # fmt: skip
    return parser


def check_sites(known: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """``wanted`` without repeats; UserError naming the first unknown site."""
    for site in wanted:
        if site not in known:
            listed = ", ".join(known) or "none"
            raise UserError(f"--site {site}: unknown site (registered: {listed})")
    return list(dict.fromkeys(wanted))


def run_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Plan, print and (unless --dry-run) rebuild; 0 on success."""
    from clickhouse.client import Database, connect
    from clickhouse.rebuild import plan, rebuild
    from clickhouse.registry import list_sites
    from clickhouse.rollups import RollupError, discover

    start: date = args.start
    end: date = args.end
    if end < start:
        raise UserError(f"--to {end} is before --from {start}")
    try:
        client = connect(settings.clickhouse_url, settings.chdb_path, settings.clickhouse_database)
    except Exception as exc:
        raise UserError(
            f"cannot open ClickHouse ({exc}); with embedded chDB stop the warehouse first"
        ) from exc
    db = Database(client, settings.clickhouse_database)
    sites = check_sites([s.id for s in list_sites(db)], args.site)
    try:
        rollups = discover(db)
        parts = plan(db, rollups, start, end)
    except RollupError as exc:
        raise UserError(str(exc)) from exc
    who = ", ".join(sites) if sites else "every site"
    verb = "would rebuild" if args.dry_run else "rebuilding"
    print(f"{verb} {len(rollups)} rollups for {start}..{end}, {who}")
    print("ranges widen to whole partitions:")
    for part in parts:
        print(f"  {part.describe()}")
    if args.dry_run:
        return 0
    results = rebuild(db, parts, sites, progress=print)
    print(f"done: {len(results)} partitions of {len(rollups)} rollups rebuilt")
    return 0
