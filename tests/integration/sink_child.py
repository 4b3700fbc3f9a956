"""A sink in a process of its own on an embedded chDB folder, for the SIGKILL test of
tests/integration/test_sink_kill.py (chDB: one data folder per process, so the test cannot open
it itself).

``python -m tests.integration.sink_child first``: migrate, add a slow test view on pageviews
(``sleepEachRow``: seconds spent inside every pageviews insert, after the raw part is written,
so a kill lands between the raw part and the views), print ``inserting <table>`` before every
insert and run the sink until killed.
``python -m tests.integration.sink_child second N``: print the state the kill left as one JSON
line, run the sink until every pageviews row of N hits is stored and every consumer lag is 0,
print the numbers again and exit.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import orjson

from broker.lag import group_lag
from clickhouse.client import Database, connect
from clickhouse.migrate import migrate
from core.settings import load_settings
from sink.sink import Sink

SLOW = (
    "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.slow_mv TO {db}.slow AS "
    "SELECT site, toUInt64(count()) AS n FROM {db}.pageviews "
    "WHERE sleepEachRow(0.015) = 0 GROUP BY site"
)


class _Announcing(Sink):
    async def _insert(self, table: str) -> bool:
        print(f"inserting {table} {len(self._buffers[table])}", flush=True)
        return await super()._insert(table)


def _numbers(db: Database) -> dict[str, Any]:
    def one(sql: str) -> Any:
        return db.query(sql).result_rows[0][0]

    return {
        "raw": one("SELECT count() FROM pageviews"),
        "raw_ids": one("SELECT uniqExact(event_id) FROM pageviews"),
        "offsets": one("SELECT sum(m) FROM (SELECT max(max_offset) + 1 AS m FROM sink_offsets "
                       "WHERE raw_table = 'pageviews' GROUP BY topic, partition)"),
        "slow": one("SELECT sum(n) FROM slow"),
        "hits_hourly": one("SELECT sum(hits) FROM hits_hourly"),
        "pages_daily": one("SELECT sum(pageviews) FROM pages_daily"),
        "receipts": one("SELECT sum(events) FROM site_receipts_hourly"),
    }  # fmt: skip


async def _main(mode: str, hits: int) -> None:
    settings = load_settings()
    client = connect(None, settings.chdb_path, settings.clickhouse_database)
    db = Database(client, settings.clickhouse_database)
    stop = asyncio.Event()
    if mode == "first":
        migrate(client, db.database)
        db.command(
            "CREATE TABLE IF NOT EXISTS slow (site String, n UInt64) ENGINE = SummingMergeTree "
            "ORDER BY site SETTINGS non_replicated_deduplication_window = 1000"
        )
        db.command(SLOW.format(db=db.database))
        await _Announcing(settings, db).run(stop)  # until SIGKILL
        return
    print(orjson.dumps({"after_kill": _numbers(db)}).decode(), flush=True)
    # the same view without the sleep (a sleep over 3 s per block is refused, and the replay
    # and the rest of the stream need not wait)
    db.command("DROP VIEW slow_mv")
    db.command(SLOW.format(db=db.database).replace("WHERE sleepEachRow(0.015) = 0 ", ""))
    sink = Sink(settings, db)
    task = asyncio.create_task(sink.run(stop))
    topics = [settings.topics.pageviews, settings.topics.sessions, settings.topics.dossiers]
    while True:
        await asyncio.sleep(0.3)
        if task.done():
            task.result()
        lag = await group_lag(settings.bootstrap_servers, sink.group_id, topics)
        if lag == 0 and _numbers(db)["raw_ids"] == hits:
            break
    stop.set()
    await task
    print(orjson.dumps({"replayed": sink.replayed_batches, "final": _numbers(db)}).decode())


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0))
