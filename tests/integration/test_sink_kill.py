"""A real SIGKILL inside the window the warehouse-kill fault case hits only by chance: the sink
process is killed while ClickHouse runs the materialized views of a pageviews insert (a slow
test view keeps it there for seconds), after the raw part is written. The kill must leave the
partial state (raw rows without their view rows), and the restarted sink must repair it: every
view then counts every hit exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from broker.topics import ensure_topics
from core.settings import Settings
from tests.integration.test_sink import _hit, _produce

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

REPO = Path(__file__).resolve().parents[2]
HITS = 450  # three batches of 150 (EMC_SINK_BATCH_ROWS)


def _child(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.sink_child", *args],
        env={**os.environ, **env},
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _text(log: Path) -> str:
    return log.read_text(errors="replace")


async def _wait_for_line(
    proc: subprocess.Popen[bytes], log: Path, text: str, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in _text(log):
            return
        if proc.poll() is not None:
            break
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {text!r} from the sink child:\n{_text(log)[-3000:]}")


async def test_a_sink_killed_inside_the_views_loses_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    env = {
        "EMC_DATA_DIR": str(tmp_path / "data"),
        "EMC_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "EMC_TOPIC_PREFIX": f"k{run}.",
        "EMC_CONSUMER_GROUP_PREFIX": f"k{run}",
        "EMC_SINK_BATCH_ROWS": "150",
        "EMC_SINK_FLUSH_INTERVAL_MS": "200",
        "EMC_LOG_LEVEL": "WARNING",
    }
    settings = Settings(**{k[4:].lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    await ensure_topics(settings.bootstrap_servers, settings.topics.specs())
    topic = settings.topics.pageviews
    messages = []
    for n in range(HITS):
        hit = _hit(n, f"v{n % 40}", f"ses{n % 40}")
        messages.append((topic, f"s1|v{n % 40}".encode(), hit.model_dump_json().encode()))
    await _produce(settings, messages)

    first_log = tmp_path / "first.log"
    first = _child(env, first_log, "first")
    try:
        await _wait_for_line(first, first_log, "inserting pageviews", 120)
        # not a wait for a result: it places the kill inside the slow view's ~2 s on 150 rows,
        # after the raw part (the test asserts that the kill did leave that state)
        await asyncio.sleep(1.0)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)

    second_log = tmp_path / "second.log"
    second = _child(env, second_log, "second", str(HITS))
    try:
        assert second.wait(120) == 0, second_log.read_text()[-3000:]
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(30)
    lines = [orjson.loads(x) for x in second_log.read_text().splitlines() if x.startswith("{")]
    after: dict[str, Any] = lines[0]["after_kill"]
    final: dict[str, Any] = lines[1]["final"]
    # the kill left raw rows that a view did not count (the loss the recovery must repair)
    assert after["raw"] > 0 and after["slow"] < after["raw"], after
    assert final == {
        "raw": HITS,
        "raw_ids": HITS,
        "offsets": HITS,
        "slow": HITS,
        "hits_hourly": HITS,
        "pages_daily": HITS,
        "receipts": HITS,
    }, (after, final)
    assert lines[1]["replayed"] >= 1
