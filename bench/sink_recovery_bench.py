"""What the sink's crash recovery costs per flush, and what a rebuild costs: on embedded chDB,
time one flush of a pageviews batch (the raw insert with its views: hits_hourly, pages_daily,
receipts, sink_offsets) without and with the ``sink_batches`` record written before it (as
``sink/sink.py`` does), then a replay of the same batch (dropped everywhere as a duplicate)
and ``emc rebuild`` of the month for every site. Prints medians; nothing is asserted.

    .venv/bin/python -m bench.sink_recovery_bench                 # 300 flushes of 150 rows
    .venv/bin/python -m bench.sink_recovery_bench --flushes 1000 --rows 500
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from clickhouse.client import Database, connect
from clickhouse.migrate import migrate
from clickhouse.rebuild import plan, rebuild
from clickhouse.rollups import discover
from schemas.hits import EnrichedHit, HitType
from sink.recovery import BATCH_COLUMNS, batch_records, insert_settings
from sink.rows import COLUMNS, Origin, SinkKind, decode

T0 = 1_790_812_800_000  # 2026-10-01T00:00:00Z, the local wall clock as UTC


def _rows(first: int, count: int) -> list[list[Any]]:
    rows = []
    for n in range(first, first + count):
        hit = EnrichedHit(
            event_id=f"e{n}", site=f"s{n % 20}", ts=T0 + n * 1000, local_ms=T0 + n * 1000,
            received_ms=T0 + n * 1000, type=HitType.PAGEVIEW, url=f"https://a.vn/p{n % 50}",
            path=f"/p{n % 50}", visitor_id=f"v{n % 997}", session_id=f"s{n % 997}",
        )  # fmt: skip
        value = hit.model_dump_json().encode()
        rows += [row for _, row in decode(SinkKind.PAGEVIEWS, value, Origin("pv", n % 6, n))]
    return rows


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flushes", type=int, default=300)
    parser.add_argument(
        "--rows", type=int, default=150, help="rows per batch (EMC_SINK_BATCH_ROWS)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="emc-bench-"))
    try:
        client = connect(None, folder / "chdb", "bench")
        migrate(client, "bench")
        db = Database(client, "bench")
        plain: list[float] = []
        recorded: list[float] = []
        replayed: list[float] = []
        offset = 0
        for i in range(args.flushes):
            rows = _rows(offset, args.rows)
            token = f"pv/0/{offset}-{offset + args.rows - 1}"
            offset += args.rows
            started = time.perf_counter()
            if i % 2:
                records = batch_records("bench-sink", "pageviews", token)
                db.insert(
                    "sink_batches", records, BATCH_COLUMNS, settings={"insert_deduplicate": 0}
                )
            db.insert("pageviews", rows, COLUMNS["pageviews"], settings=insert_settings(token))
            (recorded if i % 2 else plain).append(time.perf_counter() - started)
            started = time.perf_counter()
            db.insert("pageviews", rows, COLUMNS["pageviews"], settings=insert_settings(token))
            replayed.append(time.perf_counter() - started)
        total = db.query("SELECT count() FROM pageviews").result_rows[0][0]
        hits = db.query("SELECT sum(hits) FROM hits_hourly").result_rows[0][0]
        print(f"flush of {args.rows} pageviews rows, median of {args.flushes // 2} each:")
        print(f"  insert only                    {_median_ms(plain)}")
        print(f"  sink_batches record + insert   {_median_ms(recorded)}")
        print(f"  replay of a landed batch       {_median_ms(replayed)} (dropped everywhere)")
        print(f"  stored {total} rows, hits_hourly {hits} (equal: replays added nothing)")
        rollups = discover(db)
        parts = plan(db, rollups, date(2026, 10, 1), date(2026, 10, 1))
        started = time.perf_counter()
        rebuild(db, parts, [])
        elapsed = time.perf_counter() - started
        print(f"emc rebuild of {len(parts)} partitions over {total} raw rows: {elapsed:.2f} s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
