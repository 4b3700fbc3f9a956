"""End-to-end benchmark: the whole stack (`emc up --no-demo`) on this machine under steady load.

Prints, every few seconds: hits accepted per second, the lag of the streams and sink consumer
groups, and at the end the freshness of marker hits (accepted → visible in the `pages_daily`
rollup), p50/p95/max. Targets (issue 2): ≥ 5,000 hits/s sustained with no growing lag,
freshness p95 ≤ 5 s. Targets are printed beside the numbers, never asserted.

    .venv/bin/python -m bench.e2e_bench --rate 5000 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import httpx

from bench.stack import LoadCounts, load_parser, start_stack, steady_load
from broker.lag import group_lag


async def _watch_markers(
    api: str, token: str, markers: dict[str, float], seen: dict[str, float], stop: asyncio.Event
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=30) as client:
        while not stop.is_set() or len(seen) < len(markers):
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


async def _main(args: argparse.Namespace) -> int:
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

        async def sample_lag() -> None:
            t0 = time.time()
            while not stop.is_set():
                await asyncio.sleep(5)
                lags = {
                    name: await group_lag(settings.bootstrap_servers, g, t)
                    for name, (g, t) in groups.items()
                }
                print(
                    f"  t={time.time() - t0:5.0f}s lag streams={lags['streams']:>8} "
                    f"sink={lags['sink']:>8}",
                    flush=True,
                )

        lagger = asyncio.create_task(sample_lag())
        counts = LoadCounts()
        await steady_load(
            stack.collector_url, token, args.rate, args.duration, args.batch, counts, markers
        )
        total = counts.accepted
        print(
            f"accepted {total} hits in {args.duration:.0f} s = {total / args.duration:,.0f} hits/s "
            f"(target ≥ 5,000/s sustained)"
        )
        stop.set()
        lagger.cancel()
        await asyncio.wait_for(watcher, timeout=120)
        delays = sorted(seen[m] - markers[m] for m in markers if m in seen)
        if delays:
            p95 = delays[max(0, int(len(delays) * 0.95) - 1)]
            print(
                f"freshness over {len(delays)}/{len(markers)} markers: p50 "
                f"{statistics.median(delays):.2f} s, p95 {p95:.2f} s, max {delays[-1]:.2f} s "
                f"(target p95 ≤ 5 s)"
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
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
