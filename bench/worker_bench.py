"""Stream worker: the handler alone against the whole worker, in one run (issue 14, item 1).

    .venv/bin/python -m bench.worker_bench [--hits 200000] [--profile worker.txt]

1. **Handler alone**: ``HitHandler.handle`` (decode → enrichment → sessionizer → encoded
   outputs) over N pre-built raw hits in one thread (one core), with a dict as the visitor
   table, under the worker's garbage collector settings (``streams.worker.tune_gc``): the
   work the worker cannot avoid.
2. **Worker**: the project's Faust app (``python -m streams``, exactly as in production)
   against a real local Kafka broker (the official jars, small heap, like the tests) drains a
   backlog of the same N hits pre-loaded into ``emc.hits.raw``, until the worker's committed
   offsets cover every hit, i.e. every output is committed (transactions: the offsets commit
   with the outputs). The clock starts when the worker has processed its first hit (its
   ``/stats/`` counter), so Faust's start and group join are not counted; the hits it had
   processed by then are subtracted. Afterwards the committed outputs are read back
   (``read_committed``) and compared with what the handler alone produced for the same hits.
   Before it, another worker drains ``--warmup`` other hits, untimed: a broker that had not yet
   carried ~100,000 hits used 24–35 µs CPU per hit, on the same two cores as the worker; warm,
   13–16 µs (a warm-up of 20,000 hits was not enough). The stack runs warm in production.
   ``--baseline-repo DIR`` drains the same backlog again with the worker of another
   checkout (e.g. ``git archive`` of an earlier commit), same broker, same run.
3. The handler alone again (the machine is shared: its speed may have moved meanwhile).

Printed: hits/s of both, the ratio worker / handler (target ≥ 0.5, the handler's hits/s the
mean of 1 and 3), CPU per hit of the worker process and of the broker, the ratio of CPU per
hit, and ``uptime``'s load average at each step. Never asserted: this prints numbers.

The hits are realistic: ``emc.demo.DemoTraffic`` visits (several portals, several pages per
visit, custom events, a Vietnam-heavy IP mix, real browser user agents including Cốc Cốc and
Zalo, a few bots) turned into ``RawHit`` messages the way the collector does (visitor ids
and partition key from ``ingest.visitor``). ``--profile FILE`` records the worker with py-spy
during the drain (py-spy must be installed; it is not a project dependency; summarise with
``python -m bench.profile_summary FILE…``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from core.settings import Settings
from emc.demo import DEMO_SITES, DemoTraffic
from ingest.visitor import visitor_ids
from schemas.topics import HIT_PARTITIONS, hit_key
from streams.worker import tune_gc

REPO = Path(__file__).resolve().parents[1]
#: 2026-10-05 09:00 in Vietnam: full daytime traffic in the demo's hourly rhythm.
START_MS = 1_791_172_800_000
SECRET = b"worker-bench-secret"


def uptime() -> str:
    """``uptime``'s output (the load average is the point)."""
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "load average {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def raw_hits(count: int, seed: int = 7) -> list[tuple[bytes, bytes]]:
    """``count`` (key, value) messages of ``emc.hits.raw`` in event-time order, as the
    collector writes them, from the demo's simulated visits (one simulated second per tick)."""
    traffic = DemoTraffic(rate_per_s=max(50.0, count / 600), seed=seed)
    sites = {site.id: site for site in DEMO_SITES}
    out: list[tuple[bytes, bytes]] = []
    now_ms = START_MS
    while len(out) < count:
        now_ms += 1000
        hits, _dossiers = traffic.tick(now_ms, 1.0)
        for hit in hits:
            site = sites[hit["site"]]
            ids = visitor_ids(
                SECRET, site=site.id, ip=hit["ip"], ua=hit["ua"], ts_ms=hit["ts"], tz=site.timezone
            )
            raw = {
                "event_id": hit["event_id"],
                "site": site.id,
                "tz": site.timezone,
                "ts": hit["ts"],
                "received_ms": hit["ts"] + 40,
                "type": hit["type"],
                "name": hit.get("name", ""),
                "url": hit["url"],
                "referrer": hit.get("referrer", ""),
                "ip": hit["ip"],
                "ua": hit["ua"],
                "visitor_id": ids.visitor_id,
                "prev_visitor_id": ids.prev_visitor_id,
                "explicit_visitor": ids.explicit,
                "source": "beacon",
                "screen_width": None,
            }
            out.append((hit_key(site.id, ids.visitor_key), orjson.dumps(raw)))
    return out[:count]


@dataclass
class HandlerRun:
    hits_per_s: float
    cpu_us_per_hit: float
    outputs: Counter[str]  # messages per output topic (base name)
    load: str


def handler_alone(hits: list[tuple[bytes, bytes]], settings: Settings) -> HandlerRun:
    """Hits/s of ``HitHandler.handle`` over ``hits`` in this thread (one core), as the worker
    calls it (stored state in, outputs and new state out, one ``now_ms`` per hit)."""
    from streams.app import HitHandler, Incoming
    from streams.enrich.geoip import GeoIP
    from streams.enrich.metrics import StreamCounters
    from streams.enrich.pipeline import build_pipeline
    from streams.enrich.useragent import UserAgentParser

    counters = StreamCounters()
    pipeline = build_pipeline(GeoIP(settings.geoip_path), UserAgentParser(), counters)
    handler = HitHandler(settings, pipeline, counters)
    names = settings.topics
    base = {names.pageviews: "pageviews", names.sessions: "sessions", names.deadletters: "dead"}
    outputs: Counter[str] = Counter()
    table: dict[bytes, Any] = {}
    before = gc.get_threshold()
    tune_gc()  # the worker's garbage collector settings: same interpreter, same rules
    gc.collect()
    started, cpu_started = time.perf_counter(), time.thread_time()
    for offset, (key, value) in enumerate(hits):
        now_ms = time.time_ns() // 1_000_000
        outcome = handler.handle(Incoming(names.hits_raw, 0, offset, key, value),
                                 table.get(key), now_ms)  # fmt: skip
        if outcome.state is not None:
            table[key] = outcome.state
        for message in outcome.messages:
            outputs[base.get(message.topic, message.topic)] += 1
    elapsed, cpu_s = time.perf_counter() - started, time.thread_time() - cpu_started
    gc.set_threshold(*before)
    return HandlerRun(len(hits) / elapsed, cpu_s / len(hits) * 1e6, outputs, uptime())


@dataclass
class WorkerRun:
    hits_per_s: float
    cpu_us_per_hit: float
    kafka_cpu_us_per_hit: float
    #: Of ``seconds``, the time from the handler's last hit to the commit that covered it.
    commit_wait_s: float
    counted_hits: int
    seconds: float
    outputs: Counter[str]
    load: str


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads)."""
    fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _preload(bootstrap: str, topic: str, hits: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in hits]
        await producer.flush()
        for future in futures:
            future.result()
    finally:
        await producer.stop()


async def _committed(admin: AIOKafkaAdminClient, group: str, topic: str) -> int:
    tps = [TopicPartition(topic, p) for p in range(HIT_PARTITIONS)]
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
    except Exception:  # the group coordinator is not there yet
        return 0
    return sum(max(meta.offset, 0) for meta in offsets.values())


async def _count_committed(bootstrap: str, topics: dict[str, str]) -> Counter[str]:
    """Records per topic visible to a ``read_committed`` reader, by base name."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    counts: Counter[str] = Counter()
    try:
        await consumer._client.force_metadata_update()
        tps = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(
            [await consumer.position(tp) < ends[tp] for tp in tps]
        ):
            batch = await consumer.getmany(timeout_ms=500, max_records=50_000)
            for tp, records in batch.items():
                counts[topics[tp.topic]] += len(records)
    finally:
        await consumer.stop()
    return counts


def _print_worker(run: WorkerRun) -> None:
    print(f"   {run.hits_per_s:,.0f} hits/s ({run.counted_hits:,} hits in {run.seconds:.1f} s, "
          f"{run.commit_wait_s:.1f} s of them after the last hit, waiting for the commit; "
          f"CPU per hit: worker {run.cpu_us_per_hit:.1f} µs, Kafka {run.kafka_cpu_us_per_hit:.1f}"
          f" µs); {run.load}", flush=True)  # fmt: skip


def _py_spy() -> str:
    """py-spy on PATH, else next to this Python (installed into the venv)."""
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("--profile needs py-spy: pip install py-spy (not a project dependency)")
    return found


async def _stats_hits(client: httpx.AsyncClient, url: str) -> int:
    try:
        response = await client.get(url)
        return int(response.json()["messages"].get("hits", 0))
    except (httpx.HTTPError, ValueError, KeyError):
        return 0


async def worker_drain(
    hits: list[tuple[bytes, bytes]],
    bootstrap: str,
    kafka_pid: int,
    data_dir: Path,
    geoip: Path,
    profile: Path | None,
    timeout_s: float,
    repo: Path = REPO,
) -> WorkerRun:
    """Pre-load ``hits``, start ``python -m streams`` and time the drain (module docstring)."""
    from broker.topics import ensure_topics

    run = uuid.uuid4().hex[:8]
    env = {
        "EMC_KAFKA_BOOTSTRAP": bootstrap,
        "EMC_TOPIC_PREFIX": f"wb{run}.",
        "EMC_CONSUMER_GROUP_PREFIX": f"wb{run}",
        "EMC_DATA_DIR": str(data_dir),
        "EMC_STREAMS_WEB_PORT": str(_free_port()),
        "EMC_GEOIP_DB": str(geoip),
        "EMC_LOG_LEVEL": "WARNING",
    }
    settings = Settings(**{k[4:].lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    names = settings.topics
    await ensure_topics(bootstrap, names.specs())
    loaded = time.perf_counter()
    await _preload(bootstrap, names.hits_raw, hits)
    print(f"  pre-loaded {len(hits):,} hits in {time.perf_counter() - loaded:.1f} s", flush=True)

    log = data_dir / "streams.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "streams"],
        env={**os.environ, **env},
        cwd=repo,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    group = f"{settings.consumer_group_prefix}-streams"
    stats_url = f"http://127.0.0.1:{settings.streams_web_port}/stats/"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    spy: subprocess.Popen[bytes] | None = None
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            deadline = time.monotonic() + 180
            while (first := await _stats_hits(client, stats_url)) == 0:
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the worker did not start:\n{log.read_text()[-3000:]}")
                await asyncio.sleep(0.02)
            t0, cpu0, kafka0 = (
                time.perf_counter(),
                _cpu_seconds(worker.pid),
                _cpu_seconds(kafka_pid),
            )
            if profile is not None:
                spy = subprocess.Popen(
                    [_py_spy(), "record", "--pid", str(worker.pid), "--format", "raw",
                     "--rate", "250", "--nonblocking", "--output", str(profile)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                )  # fmt: skip
            deadline = time.monotonic() + timeout_s
            handled_at: float | None = None  # when the handler had seen every hit (/stats/)
            while await _committed(admin, group, names.hits_raw) < len(hits):
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the worker did not drain:\n{log.read_text()[-3000:]}")
                if handled_at is None and await _stats_hits(client, stats_url) >= len(hits):
                    handled_at = time.perf_counter()
                await asyncio.sleep(0.05)
            t1, cpu1, kafka1 = (
                time.perf_counter(),
                _cpu_seconds(worker.pid),
                _cpu_seconds(kafka_pid),
            )
            load = uptime()
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=60)
        await admin.close()
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    counted = len(hits) - first
    outputs = await _count_committed(
        bootstrap,
        {names.pageviews: "pageviews", names.sessions: "sessions", names.deadletters: "dead"},
    )
    return WorkerRun(
        hits_per_s=counted / (t1 - t0),
        cpu_us_per_hit=(cpu1 - cpu0) / counted * 1e6,
        kafka_cpu_us_per_hit=(kafka1 - kafka0) / counted * 1e6,
        counted_hits=counted,
        seconds=t1 - t0,
        commit_wait_s=t1 - (handled_at or t1),
        outputs=outputs,
        load=load,
    )


async def _main(args: argparse.Namespace) -> int:
    from emc.kafka_local import LocalKafka, ensure_jars

    # the pre-load's retries while the new topics elect leaders and reach the producer's
    # metadata are expected (aiokafka logs the missing metadata as an error)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    settings = Settings()
    geoip = settings.geoip_path
    if not geoip.exists():
        print(f"no GeoIP database at {geoip}: run `make geoip` first")
        return 1
    print(f"building {args.hits:,} raw hits ...", flush=True)
    hits = raw_hits(args.hits)
    visitors = len({key for key, _ in hits})
    print(f"  {len(hits):,} hits of {visitors:,} visitors on {len(DEMO_SITES) - 1} portals")
    bench_settings = Settings(geoip_db=geoip)

    print("1. handler alone (one thread) ...", flush=True)
    alone = handler_alone(hits, bench_settings)
    print(f"   {alone.hits_per_s:,.0f} hits/s ({alone.cpu_us_per_hit:.1f} µs CPU per hit); "
          f"{alone.load}")  # fmt: skip

    baseline: WorkerRun | None = None
    tmp = Path(tempfile.mkdtemp(prefix="emc-worker-bench-"))
    for folder in ("data", "data-baseline", "data-warmup"):
        (tmp / folder).mkdir()
    kafka = LocalKafka(
        libs_dir=ensure_jars(settings.cache_dir),
        data_dir=tmp / "kafka",
        port=_free_port(),
        controller_port=_free_port(),
        heap=args.kafka_heap,
        java_bin=settings.java_bin,
    )
    try:
        kafka.start(timeout_s=120)
        print(f"2. worker draining the backlog (Kafka heap {args.kafka_heap}) ...", flush=True)
        kafka_pid = int((tmp / "kafka" / "kafka.pid").read_text())
        if args.warmup:
            print(f"   warm-up: a worker drains {args.warmup:,} other hits (not timed) ...")
            await worker_drain(
                raw_hits(args.warmup, seed=8), kafka.bootstrap, kafka_pid, tmp / "data-warmup",
                geoip, None, args.timeout,
            )  # fmt: skip
        worker = await worker_drain(
            hits, kafka.bootstrap, kafka_pid, tmp / "data", geoip, args.profile, args.timeout
        )
        _print_worker(worker)
        if args.baseline_repo is not None:
            print(f"2b. worker of {args.baseline_repo} draining the same backlog ...", flush=True)
            baseline = await worker_drain(
                hits, kafka.bootstrap, kafka_pid, tmp / "data-baseline", geoip,
                args.profile_baseline, args.timeout,
                repo=args.baseline_repo,
            )  # fmt: skip
            _print_worker(baseline)
    finally:
        kafka.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print("3. handler alone again ...", flush=True)
    again = handler_alone(hits, bench_settings)
    print(f"   {again.hits_per_s:,.0f} hits/s ({again.cpu_us_per_hit:.1f} µs CPU per hit); "
          f"{again.load}")  # fmt: skip

    handler = (alone.hits_per_s + again.hits_per_s) / 2
    handler_cpu = (alone.cpu_us_per_hit + again.cpu_us_per_hit) / 2
    same = dict(worker.outputs) == dict(alone.outputs)
    print(f"outputs committed by the worker {dict(worker.outputs)}; by the handler alone "
          f"{dict(alone.outputs)}: {'same' if same else 'DIFFERENT'}")  # fmt: skip
    print(
        f"handler alone {handler:,.0f} hits/s (mean of both runs), worker {worker.hits_per_s:,.0f}"
        f" hits/s: ratio {worker.hits_per_s / handler:.2f} (target ≥ 0.50); CPU per hit "
        f"{worker.cpu_us_per_hit / handler_cpu:.2f}× the handler's (mean of both runs)"
    )
    if baseline is not None:
        print(
            f"baseline worker ({args.baseline_repo}) {baseline.hits_per_s:,.0f} hits/s: ratio "
            f"{baseline.hits_per_s / handler:.2f}; CPU per hit "
            f"{baseline.cpu_us_per_hit / handler_cpu:.2f}× the handler's"
        )
    print(uptime())
    return 0 if same else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hits", type=int, default=200_000, help="raw hits in the backlog")
    parser.add_argument(
        "--warmup",
        type=int,
        default=100_000,
        help="hits another worker drains, untimed, before the measured one (broker warm-up)",
    )
    parser.add_argument("--kafka-heap", default="512m", help="local broker heap (-Xmx)")
    parser.add_argument("--timeout", type=float, default=900, help="longest drain (seconds)")
    parser.add_argument("--profile", type=Path, help="py-spy raw profile of the worker's drain")
    parser.add_argument(
        "--baseline-repo",
        type=Path,
        help="also drain the backlog with the worker of this checkout (e.g. `git archive` of an "
        "earlier commit), same broker, same run",
    )
    parser.add_argument(
        "--profile-baseline", type=Path, help="py-spy raw profile of the baseline worker's drain"
    )
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
