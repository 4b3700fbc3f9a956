"""Several stream workers (issue 15, item 1): hits/s draining a backlog with 1 and 2 processes.

    .venv/bin/python -m bench.workers_bench [--hits 100000] [--workers 1,2]

One real local Kafka broker (the official jars, like the tests). For each worker count k a
fresh topic prefix gets the same backlog of realistic raw hits (``bench.worker_bench.raw_hits``:
the demo's visits, as the collector writes them), then k processes ``emc streams --worker i``
(exactly what ``emc up`` starts with ``EMC_STREAMS_WORKERS=k``) drain it in one consumer
group. The clock starts once every worker has processed a hit (group joined, partitions
spread, visitor tables recovered), from the committed offsets at that moment, and stops when
the group's committed offsets cover the whole backlog (every output committed: transactions).
Printed: hits/s per k, the speed-up over k=1, CPU seconds per process, ``uptime``'s load at
each step. Never asserted: this prints numbers.

Read the numbers with the machine in mind: the raw hits have 6 partitions, so up to 6 workers
share them; on a 2-core machine that also runs the broker, 2 workers compete with the broker
for the same cores and cannot double the rate; on separate cores (production) they scale with
the partitions.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from bench.worker_bench import (
    REPO,
    _committed,
    _cpu_seconds,
    _free_port,
    _preload,
    _stats_hits,
    raw_hits,
    uptime,
)
from core.settings import Settings


def _free_pair() -> int:
    """A port p with p and p+1 free (worker i listens on STREAMS_WEB_PORT+i-1)."""
    import socket

    while True:
        port = _free_port()
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue


async def drain(
    hits: list[tuple[bytes, bytes]], bootstrap: str, workers: int, tmp: Path, geoip: Path,
    timeout_s: float,
) -> tuple[float, float, list[float], str]:  # fmt: skip
    """(hits/s, seconds, CPU seconds per worker, uptime) of ``workers`` processes draining
    ``hits`` pre-loaded under a fresh prefix."""
    from broker.topics import ensure_topics

    run = uuid.uuid4().hex[:8]
    data = tmp / f"data-{workers}-{run}"
    data.mkdir()
    web = _free_pair() if workers > 1 else _free_port()
    env = {
        "EMC_KAFKA_BOOTSTRAP": bootstrap,
        "EMC_TOPIC_PREFIX": f"wsb{run}.",
        "EMC_CONSUMER_GROUP_PREFIX": f"wsb{run}",
        "EMC_DATA_DIR": str(data),
        "EMC_STREAMS_WEB_PORT": str(web),
        "EMC_GEOIP_DB": str(geoip),
        "EMC_LOG_LEVEL": "WARNING",
    }
    settings = Settings(**{k[4:].lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    names = settings.topics
    await ensure_topics(bootstrap, names.specs())
    loaded = time.perf_counter()
    await _preload(bootstrap, names.hits_raw, hits)
    print(f"   pre-loaded {len(hits):,} hits in {time.perf_counter() - loaded:.1f} s", flush=True)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "emc.cli", "streams", "--worker", str(i)],
            env={**os.environ, **env},
            cwd=REPO,
            stdout=(data / f"streams-{i}.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        for i in range(1, workers + 1)
    ]
    urls = [f"http://127.0.0.1:{settings.streams_worker_web_port(i)}/stats/" for i in range(1, workers + 1)]  # fmt: skip
    group = f"{settings.consumer_group_prefix}-streams"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            deadline = time.monotonic() + 300
            while not all([await _stats_hits(client, url) > 0 for url in urls]):
                if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                    raise RuntimeError(f"the workers did not all start; logs in {data}")
                await asyncio.sleep(0.05)
            t0, c0 = time.perf_counter(), await _committed(admin, group, names.hits_raw)
            cpu0 = [_cpu_seconds(p.pid) for p in procs]
            deadline = time.monotonic() + timeout_s
            while await _committed(admin, group, names.hits_raw) < len(hits):
                if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                    raise RuntimeError(f"the workers did not drain; logs in {data}")
                await asyncio.sleep(0.05)
            t1 = time.perf_counter()
            cpu = [_cpu_seconds(p.pid) - c for p, c in zip(procs, cpu0, strict=True)]
            load = uptime()
    finally:
        await admin.close()
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return (len(hits) - c0) / (t1 - t0), t1 - t0, cpu, load


async def _main(args: argparse.Namespace) -> int:
    from emc.kafka_local import LocalKafka, ensure_jars

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # pre-load metadata retries
    settings = Settings()
    geoip = settings.geoip_path
    if not geoip.exists():
        print(f"no GeoIP database at {geoip}: run `make geoip` first")
        return 1
    counts = [int(k) for k in args.workers.split(",")]
    print(f"building {args.hits:,} raw hits ... ({uptime()})", flush=True)
    hits = raw_hits(args.hits)
    tmp = Path(tempfile.mkdtemp(prefix="emc-workers-bench-"))
    kafka = LocalKafka(
        libs_dir=ensure_jars(settings.cache_dir),
        data_dir=tmp / "kafka",
        port=_free_port(),
        controller_port=_free_port(),
        heap=args.kafka_heap,
        java_bin=settings.java_bin,
    )
    rates: dict[int, float] = {}
    try:
        kafka.start(timeout_s=120)
        for workers in counts:
            print(f"{workers} worker process(es) draining the backlog ...", flush=True)
            rate, seconds, cpu, load = await drain(
                hits, kafka.bootstrap, workers, tmp, geoip, args.timeout
            )
            rates[workers] = rate
            print(f"   {rate:,.0f} hits/s ({seconds:.1f} s; CPU s per worker "
                  f"{', '.join(f'{c:.1f}' for c in cpu)}); {load}", flush=True)  # fmt: skip
    finally:
        kafka.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if 1 in rates:
        for workers, rate in rates.items():
            print(f"{workers} worker(s): {rate:,.0f} hits/s, {rate / rates[1]:.2f}x one worker")
    print(uptime())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hits", type=int, default=100_000, help="raw hits in the backlog")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, in order")
    parser.add_argument("--kafka-heap", default="512m", help="local broker heap (-Xmx)")
    parser.add_argument("--timeout", type=float, default=900, help="longest drain (seconds)")
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
