"""End-to-end benchmark: the whole stack (`emc up --no-demo`) on this machine under steady load.

Two shapes of load:

- ``--shape bulk``: NDJSON batches of ``--batch`` hits to ``/v1/hits`` (servers, imports);
- ``--shape beacon``: one hit per ``POST /collect``, how browsers send (``bench.beacon_load``:
  real user agents including Cốc Cốc and Zalo, Vietnamese addresses, visits of several pages),
  paced by ``wrk``.

Prints, every 5 s: the lag of the streams and sink consumer groups; at the end: hits accepted
per second, whether each lag stayed flat (slope over the second half below 1 % of the arrival
rate per minute), the freshness of marker hits (one a second, accepted by the collector →
visible in the ``pages_daily`` rollup) p50/p95/max, and the CPU each process of the stack used
(cores, and µs per hit: the per-core figures a bigger node scales by), with the load average.
Targets (issue 14): ≥ 5,000 hits/s sustained with flat lag; freshness p95 ≤ 2 s at 1,000 hits/s
and ≤ 5 s at 5,000. Targets are printed beside the numbers, never asserted.

    .venv/bin/python -m bench.e2e_bench --shape bulk --rate 5000 --duration 300
    .venv/bin/python -m bench.e2e_bench --shape beacon --rate 5000 --duration 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

from bench.beacon_load import beacons, lua_script, run_wrk
from bench.soak import cpu_seconds
from bench.soak_stats import LAG_SLOPE_PCT, slope
from bench.stack import SITE, LoadCounts, Stack, load_parser, start_stack, steady_load
from broker.lag import group_lag
from emc.demo import USER_AGENTS


async def _watch_markers(
    api: str, token: str, markers: dict[str, float], seen: dict[str, float], stop: asyncio.Event
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=30) as client:
        while not stop.is_set() or any(m not in seen for m in list(markers)):
            sql = (
                "SELECT DISTINCT path FROM pages_daily WHERE site = 'bench' "
                "AND startsWith(path, '/fresh/')"
            )
            try:
                response = await client.post("/api/v1/sql", json={"sql": sql, "max_rows": 100000})
                now = time.time()
                for (path,) in response.json().get("rows", []):
                    seen.setdefault(path, now)
            except httpx.HTTPError:
                pass
            if stop.is_set() and time.time() - max(markers.values(), default=0) > 60:
                return
            await asyncio.sleep(0.25)


def _uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


async def _beacon_markers(url: str, markers: dict[str, float], stop: asyncio.Event) -> None:
    """One marker beacon a second to ``/collect``, timed at its 202 (the collector's ack)."""
    headers = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": USER_AGENTS[0][0]}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        while not stop.is_set():
            marker = f"/fresh/{uuid.uuid4().hex[:12]}"
            body = orjson.dumps({"s": SITE, "u": f"https://bench.gov.vn{marker}", "t": "p"})
            try:
                response = await client.post("/collect", content=body)
                if response.status_code == 202:
                    markers[marker] = time.time()
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1.0)


async def _beacon_load(
    stack: Stack, args: argparse.Namespace, markers: dict[str, float] | None
) -> tuple[int, int]:
    """Run ``wrk`` in the beacon shape with marker beacons beside it (none without
    ``markers``: the warm-up): (accepted, failed)."""
    requests = beacons(SITE, "bench.gov.vn", args.visitors, args.pages_per_visit)
    with tempfile.TemporaryDirectory(prefix="emc-beacon-") as work:
        script = Path(work) / "beacon.lua"
        script.write_text(lua_script(requests, args.rate))
        stop = asyncio.Event()
        sender = asyncio.create_task(
            _beacon_markers(stack.collector_url, markers if markers is not None else {}, stop)
        )
        try:
            result = await asyncio.to_thread(
                run_wrk, stack.collector_url, script, args.duration, args.connections
            )
        finally:
            stop.set()
            await sender
    if markers is not None:
        print("  wrk: " + result.summary.replace("\n", "\n  wrk: "))
    return result.accepted, result.non_2xx + result.socket_errors


def _print_cpu(
    before: dict[str, float], after: dict[str, float], seconds: float, hits: int
) -> None:
    """CPU of each process over the load: cores used and µs per accepted hit."""
    total = 0.0
    for role in sorted(after):
        used = after[role] - before.get(role, 0.0)
        total += used
        per_hit = used / hits * 1e6 if hits else float("nan")
        print(f"  cpu {role:<12} {used / seconds:5.2f} cores  {per_hit:7.1f} µs/hit")
    per_hit = total / hits * 1e6 if hits else float("nan")
    print(
        f"  cpu {'all':<12} {total / seconds:5.2f} cores  {per_hit:7.1f} µs/hit (of 2 cores here)"
    )


def _cpu_now(pids: dict[str, int]) -> dict[str, float]:
    usage = {role: cpu_seconds(pid) for role, pid in pids.items()}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has exited
    this = resource.getrusage(resource.RUSAGE_SELF)
    usage["load (wrk)"] = children.ru_utime + children.ru_stime
    usage["load (bench)"] = this.ru_utime + this.ru_stime
    return usage


async def _main(args: argparse.Namespace) -> int:
    if args.shape == "beacon":
        # wrk sends each visitor's address in X-Forwarded-For, as a reverse proxy would
        os.environ.setdefault("EMC_TRUSTED_PROXIES", "127.0.0.1/32")
    stack = start_stack()
    if stack is None:
        return 1
    try:
        stack.register_site()
        settings, token = stack.settings, stack.token
        markers: dict[str, float] = {}
        seen: dict[str, float] = {}
        stop = asyncio.Event()
        watcher = asyncio.create_task(_watch_markers(stack.api_url, token, markers, seen, stop))
        groups = stack.groups()
        series: dict[str, list[tuple[float, float]]] = {name: [] for name in groups}

        async def sample_lag() -> None:
            t0 = time.time()
            while not stop.is_set():
                await asyncio.sleep(5)
                lags = {
                    name: await group_lag(settings.bootstrap_servers, g, t)
                    for name, (g, t) in groups.items()
                }
                for name, lag in lags.items():
                    series[name].append((time.time() - t0, float(lag)))
                print(
                    f"  t={time.time() - t0:5.0f}s lag streams={lags['streams']:>8} "
                    f"sink={lags['sink']:>8}  ({_uptime()})",
                    flush=True,
                )

        async def warm(seconds: float) -> None:
            if args.shape == "beacon":
                await _beacon_load(
                    stack, argparse.Namespace(**{**vars(args), "duration": seconds}), None
                )
            else:
                await steady_load(
                    stack.collector_url, token, args.rate, seconds, args.batch, LoadCounts()
                )

        if args.warmup > 0:
            # the broker's JIT, connections, first metadata, the worker joining its group and
            # recovering its tables: not what "sustained" measures
            print(f"warm-up: {args.warmup:.0f} s at {args.rate:,.0f} hits/s, not counted")
            warm_started = time.monotonic()
            await warm(args.warmup)
            lags: dict[str, int] = {}
            # then on at the same rate until the stack has caught up with what queued while it
            # started (both lags under two seconds of input), so the measured part starts in the
            # steady state; how long that took is printed (it is the cost of a cold start)
            while time.monotonic() - warm_started < args.warmup + args.settle_max:
                lags = {
                    name: await group_lag(settings.bootstrap_servers, g, t)
                    for name, (g, t) in groups.items()
                }
                if all(lag <= 2 * args.rate for lag in lags.values()):
                    break
                await warm(5)
            print(
                f"caught up after {time.monotonic() - warm_started:.0f} s of load "
                f"(lags {lags}; settle limit {args.settle_max:.0f} s) ({_uptime()})"
            )
        print(
            f"{args.shape} shape, {args.rate:,.0f} hits/s for {args.duration:.0f} s ({_uptime()})"
        )
        pids = stack.pids()
        cpu_before = _cpu_now(pids)
        started = time.monotonic()
        lagger = asyncio.create_task(sample_lag())
        if args.shape == "beacon":
            total, failed = await _beacon_load(stack, args, markers)
        else:
            counts = LoadCounts()
            await steady_load(
                stack.collector_url, token, args.rate, args.duration, args.batch, counts, markers
            )
            total, failed = counts.accepted, counts.errors + sum(counts.statuses.values())
        elapsed = time.monotonic() - started
        cpu_after = _cpu_now(pids)
        stop.set()
        lagger.cancel()
        print(
            f"accepted {total:,} hits in {elapsed:.0f} s = {total / elapsed:,.0f} hits/s, "
            f"{failed:,} refused or failed (target ≥ 5,000/s sustained) ({_uptime()})"
        )
        for name, points in series.items():
            second = [(t, lag) for t, lag in points if t >= elapsed / 2]
            if len(second) >= 2:
                per_min = slope([t for t, _ in second], [lag for _, lag in second]) * 60
                limit = LAG_SLOPE_PCT / 100 * args.rate * 60
                verdict = "flat" if per_min < limit else "GROWING"
                print(
                    f"  lag {name}: {verdict}, slope {per_min:,.0f} messages/min over the second "
                    f"half (limit {limit:,.0f}), max {max(lag for _, lag in points):,.0f}"
                )
        _print_cpu(cpu_before, cpu_after, elapsed, total)
        await asyncio.wait_for(watcher, timeout=120)
        delays = sorted(seen[m] - markers[m] for m in markers if m in seen)
        target = 2.0 if args.rate <= 1000 else 5.0
        if delays:
            p95 = delays[max(0, int(len(delays) * 0.95) - 1)]
            print(
                f"freshness over {len(delays)}/{len(markers)} markers: p50 "
                f"{statistics.median(delays):.2f} s, p95 {p95:.2f} s, max {delays[-1]:.2f} s "
                f"(target p95 ≤ {target:.0f} s at {args.rate:,.0f} hits/s)"
            )
        else:
            print("freshness: no marker became visible")
        drained_at = time.time()
        for name, (g, t) in groups.items():
            while (
                await group_lag(settings.bootstrap_servers, g, t) > 0
                and time.time() - drained_at < 300
            ):
                await asyncio.sleep(1)
            print(f"{name} drained {time.time() - drained_at:.1f} s after the load stopped")
        return 0
    finally:
        stack.stop()


def main() -> int:
    parser = load_parser(__doc__, rate=5000, duration_s=60, batch=250)
    parser.add_argument(
        "--warmup",
        type=float,
        default=15,
        help="seconds of load before the measured part",
    )
    parser.add_argument(
        "--settle-max",
        type=float,
        default=120,
        help="after the warm-up, at most this many more seconds of load until both consumer "
        "groups lag by under two seconds of input (a cold start's backlog is not steady state)",
    )
    parser.add_argument(
        "--shape", choices=("bulk", "beacon"), default="bulk", help="how hits are sent"
    )
    parser.add_argument(
        "--connections", type=int, default=512, help="beacon shape: browsers in flight (wrk)"
    )
    parser.add_argument(
        "--visitors", type=int, default=4000, help="beacon shape: simulated browsers"
    )
    parser.add_argument(
        "--pages-per-visit", type=int, default=5, help="beacon shape: pages per visit"
    )
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
