"""The collector's producer alone: ``--senders`` closed-loop senders each hand one beacon-sized
message to ``ingest.producer.KafkaProducer.send_batch`` and wait for the broker's ack, like the
collector's requests under ``wrk -cN``. Prints messages/s, the process's CPU per message and the
load average; nothing asserted.

    .venv/bin/python -m bench.producer_bench --senders 32 --duration 8

Starts a local broker (or uses ``--bootstrap``). With ``--senders 1`` the CPU per message is
the cost of one produce request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

import orjson
import uvloop

from bench.collector_bench import _create_topics, _start_kafka
from core.settings import Settings
from ingest.producer import KafkaProducer

#: What the collector puts on emc.hits.raw for one beacon (size and shape).
VALUE = orjson.dumps(
    {
        "event_id": "0" * 32,
        "site": "bench",
        "tz": "Asia/Ho_Chi_Minh",
        "ts": 1_765_000_000_000,
        "received_ms": 1_765_000_000_000,
        "type": "pageview",
        "name": "",
        "url": "https://bench.gov.vn/page/12",
        "referrer": "",
        "ip": "203.0.113.7",
        "ua": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0 Safari/537.36",
        "visitor_id": "0" * 32,
        "prev_visitor_id": "0" * 32,
        "explicit_visitor": False,
        "source": "beacon",
        "screen_width": None,
    }
)


async def _run(bootstrap: str, topic: str, args: argparse.Namespace) -> None:
    producer = KafkaProducer(bootstrap, interval_ms=args.interval_ms)
    await producer.start()
    if not await producer.wait_connected(60):
        raise RuntimeError(f"no broker at {bootstrap}")

    async def load(duration_s: float) -> int:
        sent = 0
        end = time.monotonic() + duration_s

        async def sender(k: int) -> None:
            nonlocal sent
            i = k
            while time.monotonic() < end:
                await producer.send_batch(topic, [(b"bench|%032d" % i, VALUE)])
                i += args.senders
                sent += 1

        await asyncio.gather(*(sender(k) for k in range(args.senders)))
        return sent

    try:
        await load(args.warmup)
        cpu_s, started = time.process_time(), time.monotonic()
        sent = await load(args.duration)
        cpu_s, wall_s = time.process_time() - cpu_s, time.monotonic() - started
    finally:
        await producer.stop()
    one, five, fifteen = os.getloadavg()
    print(
        f"{args.senders} senders, interval {args.interval_ms:g} ms: {sent / wall_s:,.0f} msgs/s, "
        f"CPU {cpu_s * 1e6 / sent:.1f} µs/msg (load {one:.2f} {five:.2f} {fifteen:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--interval-ms", type=float, default=0.0, help="EMC_PRODUCE_INTERVAL_MS")
    parser.add_argument("--bootstrap", help="an existing broker (default: start a local one)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="emc-producer-bench-"))
    bootstrap, kafka = _start_kafka(work, args.bootstrap)
    try:
        prefix = f"pbench{os.getpid()}."
        asyncio.run(_create_topics(bootstrap, prefix))
        topic = Settings(topic_prefix=prefix).topics.hits_raw
        uvloop.run(_run(bootstrap, topic, args))
    finally:
        if kafka is not None:
            kafka.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
