"""What agency tokens and roll-ups cost per request: the registry look-ups that every indicator
request now makes before its SQL (token hash → agency, agency tree, sites), on the real engine.

    .venv/bin/python -m bench.access_bench --sites 5000 --repeat 200

Registry: the starter agency file (ministries, 34 provinces), one department under each
province and ``--sites`` sites spread over the departments. Prints the median and p95 of
``authenticate`` + ``resolve_sites`` for the admin token with ``site=``, an agency token with
``site=`` and an agency token with ``agency=`` (a whole province). Empty traffic tables: this
measures the access layer alone, to add to the endpoint times of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from api.params import parse_selection
from clickhouse import agencies, registry, tokens
from clickhouse.client import Database, connect
from clickhouse.migrate import migrate
from indicators.access import authenticate, resolve_sites
from schemas.agencies import Agency, AgencyKind, parse_agencies
from schemas.sites import Site, SiteType

STARTER = Path(__file__).resolve().parents[1] / "data" / "agencies_vn.json"


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    runs.sort()
    return statistics.median(runs), runs[int(len(runs) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="emc-access-bench-"))
    try:
        client = connect(url=None, chdb_path=folder / "chdb", database="default")
        client.command("CREATE DATABASE IF NOT EXISTS bench")
        migrate(client, "bench")
        db = Database(client, "bench")
        tree = parse_agencies(json.loads(STARTER.read_text(encoding="utf-8")))
        provinces = [a.id for a in tree if a.kind is AgencyKind.PROVINCE]
        departments = [
            Agency(id=f"{p}-dept", name="Sở", kind=AgencyKind.DEPARTMENT, parent_id=p)
            for p in provinces
        ]
        agencies.load(db, [*tree, *departments])
        rows = [
            Site(
                id=f"s{n}",
                name=f"s{n}",
                type=SiteType.PORTAL,
                agency_id=departments[n % len(departments)].id,
            )
            for n in range(args.sites)
        ]
        for site in rows:
            registry.upsert_site(db, site)
        _, token = tokens.create_token(db, provinces[0], "bench")
        admin = "admin-token"
        own_site = rows[0].id
        cases = {
            "admin, site=one": (admin, {"site": own_site}),
            "agency token, site=one": (token, {"site": own_site}),
            "agency token, agency=province": (token, {"agency": provinces[0]}),
        }
        print(f"registry: {len(tree) + len(departments)} agencies, {args.sites} sites")
        for label, (bearer, query) in cases.items():

            def request(bearer: str = bearer, query: dict[str, str] = query) -> object:
                who = authenticate(db, bearer, admin)
                assert who is not None
                return resolve_sites(db, parse_selection(query), who)

            median, p95 = _time(request, args.repeat)
            print(f"{label:<32} median {median:7.2f} ms   p95 {p95:7.2f} ms")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
