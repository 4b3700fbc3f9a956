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
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

from emc.demo import USER_AGENTS
from emc.lag import group_lag
from emc.settings import Settings
from schemas.sites import Site, SiteType

SITE = "bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _payload(n: int, now_ms: int, seq: int) -> bytes:
    uas = [ua for ua, _ in USER_AGENTS[:10]]
    lines = []
    for i in range(n):
        v = (seq * n + i) % 50_000  # 50k simulated visitors
        lines.append(
            orjson.dumps(
                {
                    "site": SITE,
                    "url": f"https://bench.gov.vn/p/{(seq + i) % 200}",
                    "ts": now_ms,
                    "ip": f"14.160.{v // 250}.{v % 250 + 1}",
                    "ua": uas[v % len(uas)],
                    "event_id": uuid.uuid4().hex,
                }
            )
        )
    return b"\n".join(lines)


async def _load(
    url: str, token: str, rate: float, duration_s: float, batch: int, markers: dict[str, float]
) -> list[tuple[float, int]]:
    """Post ``rate`` hits/s in batches; one marker pageview per second. Returns (t, accepted)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    accepted: list[tuple[float, int]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    interval = batch / rate
    seq = 0
    sem = asyncio.Semaphore(8)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=60, limits=httpx.Limits(max_connections=8)
    ) as client:

        async def post(body: bytes, marker: str | None) -> None:
            async with sem:
                response = await client.post("/v1/hits", content=body)
            if response.status_code == 202:
                accepted.append((loop.time() - start, int(response.json()["accepted"])))
                if marker:
                    markers[marker] = time.time()

        tasks: list[asyncio.Task[None]] = []
        next_marker = 0.0
        while (elapsed := loop.time() - start) < duration_s:
            now_ms = int(time.time() * 1000)
            body = _payload(batch, now_ms, seq)
            marker = None
            if elapsed >= next_marker:
                marker = f"/fresh/{uuid.uuid4().hex[:12]}"
                body += b"\n" + orjson.dumps(
                    {
                        "site": SITE,
                        "url": f"https://bench.gov.vn{marker}",
                        "ts": now_ms,
                        "ip": "14.161.0.1",
                        "ua": USER_AGENTS[0][0],
                    }
                )
                next_marker += 1.0
            tasks.append(asyncio.create_task(post(body, marker)))
            seq += 1
            target = start + seq * interval
            await asyncio.sleep(max(0.0, target - loop.time()))
        await asyncio.gather(*tasks)
    return accepted


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
    data = Path(tempfile.mkdtemp(prefix="emc-bench-"))
    os.environ.update(
        {
            "EMC_DATA_DIR": str(data),
            "EMC_COLLECTOR_PORT": str(_free_port()),
            "EMC_API_PORT": str(_free_port()),
            "EMC_KAFKA_PORT": str(_free_port()),
            "EMC_KAFKA_CONTROLLER_PORT": str(_free_port()),
            "EMC_STREAMS_WEB_PORT": str(_free_port()),
            "EMC_LOG_LEVEL": "WARNING",
        }
    )
    env = dict(os.environ)
    settings = Settings()
    stack = subprocess.Popen(
        [sys.executable, "-m", "emc.cli", "up", "--no-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    token = settings.admin_token.get_secret_value()
    try:
        assert stack.stdout is not None
        for line in stack.stdout:
            print("  stack:", line.rstrip())
            if "[emc] up:" in line:
                break
        else:
            print("stack failed to start")
            return 1
        api = settings.warehouse_url
        collector = f"http://127.0.0.1:{settings.collector_port}"
        httpx.put(
            f"{api}/api/v1/sites/{SITE}",
            headers={"Authorization": f"Bearer {token}"},
            json=Site(
                id=SITE, name="Bench", type=SiteType.PORTAL, domains=("bench.gov.vn",)
            ).model_dump(mode="json"),
            timeout=30,
        )
        markers: dict[str, float] = {}
        seen: dict[str, float] = {}
        stop = asyncio.Event()
        watcher = asyncio.create_task(_watch_markers(api, token, markers, seen, stop))
        groups = {
            "streams": (
                f"{settings.consumer_group_prefix}-streams",
                [settings.topics.hits_raw, settings.topics.dossiers_raw],
            ),
            "sink": (
                f"{settings.consumer_group_prefix}-sink",
                [settings.topics.pageviews, settings.topics.sessions, settings.topics.dossiers],
            ),
        }

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
        accepted = await _load(collector, token, args.rate, args.duration, args.batch, markers)
        total = sum(n for _, n in accepted)
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
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(timeout=90)
        except subprocess.TimeoutExpired:
            stack.kill()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=5000, help="hits per second to send")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--batch", type=int, default=250, help="hits per POST")
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
