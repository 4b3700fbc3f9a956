"""The sink's crash recovery on the real broker and engine, reproduced without a kill: the
views of several rollups miss the sink's last batch (dropped while it is inserted, then created
again: the state a warehouse SIGKILLed between the raw part and the views leaves), and the next
sink start re-forms that batch from Kafka and repairs every rollup without counting anything
twice."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from broker.topics import ensure_topics
from clickhouse.client import Database
from core.settings import Settings
from sink.sink import Sink
from tests.integration.test_sink import (
    EXPECTED,
    Env,
    _known_messages,
    _lag,
    _produce,
    _run_sink,
    _totals,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

#: Views of every rollup engine: Aggregating (hits, dossier state), Summing (visits), receipts.
MISSED = ["hits_hourly_mv", "visits_hourly_mv", "dossier_state_mv", "site_receipts_pageviews_mv"]


@pytest_asyncio.fixture(loop_scope="session")
async def env(
    kafka_bootstrap: str, clickhouse_engine: Any, ch_database: str, topic_prefix: str
) -> AsyncIterator[Env]:
    settings = Settings(
        topic_prefix=topic_prefix,
        kafka_bootstrap=kafka_bootstrap,
        clickhouse_database=ch_database,
        sink_flush_interval_ms=3000,  # every message below lands in one batch per table
        sink_idle_flush_ms=0,
        consumer_group_prefix=f"g{uuid.uuid4().hex[:8]}",
    )
    await ensure_topics(settings.bootstrap_servers, settings.topics.specs())
    yield Env(settings, Database(clickhouse_engine, ch_database))


def _extra(env: Env) -> dict[str, Any]:
    return {
        "receipts": env.scalar("SELECT sum(events) FROM site_receipts_hourly"),
        "dossiers": env.db.query("SELECT dossier_code, status FROM dossiers").result_rows,
        "offsets": env.db.query(
            "SELECT raw_table, topic, partition, max(max_offset) FROM sink_offsets "
            "GROUP BY ALL ORDER BY ALL"
        ).result_rows,
    }


async def test_views_that_missed_the_last_batch_get_it_at_the_next_start(env: Env) -> None:
    messages = _known_messages(env.settings)
    await _produce(env.settings, messages)
    creates = {
        name: env.scalar(f"SELECT create_table_query FROM system.tables WHERE "
                         f"database = '{env.db.database}' AND name = '{name}'")
        for name in MISSED
    }  # fmt: skip
    for name in MISSED:
        env.db.command(f"DROP VIEW {name}")

    first = Sink(env.settings, env.db)

    async def stored() -> bool:
        return await _lag(env.settings, first.group_id) == 0

    await _run_sink(first, stored)
    assert first.batches_written == 4  # one insert per raw table: one batch to replay each
    partial = _totals(env)
    assert partial["pageviews"] == EXPECTED["pageviews"]  # raw rows are all there …
    assert partial["sessions"] == EXPECTED["sessions"]
    assert partial["pages_daily"] == EXPECTED["pages_daily"]  # … a view that ran is right …
    assert partial["hits_hourly"] == (0, 0, 0)  # … the ones that missed it are empty
    assert partial["visits_hourly"] == (0, 0, 0, 0)
    assert env.scalar("SELECT count() FROM dossier_state") == 0
    assert env.scalar("SELECT sum(events) FROM site_receipts_hourly") == 5  # bots + dossiers

    for name in MISSED:
        env.db.command(creates[name])
    second = Sink(env.settings, env.db)
    await _run_sink(second, lambda: second.replayed_batches == 4)
    # 5 pageviews, 2 bot hits, 4 session rows (ses1 v1, its retraction, ses1 v2, ses2), 3 dossiers
    assert second.replayed_rows == 5 + 2 + 4 + 3
    assert second.rows_written == dict.fromkeys(second.rows_written, 0)  # nothing new consumed
    assert _totals(env) == EXPECTED
    repaired = _extra(env)
    # 5 pageviews + 2 bot hits + 3 dossier events received; H1's last event is 'resolved'
    assert repaired["receipts"] == 10
    assert repaired["dossiers"] == [("H1", "resolved")]

    # a start after a clean stop replays the same batches: dropped everywhere, nothing changes
    third = Sink(env.settings, env.db)
    await _run_sink(third, lambda: third.replayed_batches == 4)
    assert _totals(env) == EXPECTED
    assert _extra(env) == repaired
