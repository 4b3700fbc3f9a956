"""Collector throughput: the real collector (one process, started as ``emc up`` starts it)
against a local Kafka broker, and a bare ASGI endpoint (``bench/bare_asgi.py``) under the same
load, in turns, ``--rounds`` times each; then the beacon load again on ``--workers`` collector
processes sharing the port. Two loads:

- ``bulk``: ``wrk`` posting NDJSON batches of ``--lines`` hits to ``/v1/hits`` (the ≥ 20,000
  hits/s target on one worker is about this one);
- ``beacon``: ``wrk`` posting one browser beacon per request to ``/collect`` (distinct pages and
  user agents), where the per-request cost dominates and the ratio to the bare endpoint means
  something (for bulk batches the bare endpoint does no per-hit work at all).

Prints hits/s for every run with the machine's load average, the servers' CPU per hit, and the
ratio of the medians; targets are printed beside, never asserted.

    .venv/bin/python -m bench.collector_bench --mode beacon --rounds 3 --duration 10

Needs ``wrk`` (``apt-get install -y wrk``); without it a Python load generator runs in another
process (it saturates earlier, so its numbers are a lower bound). The site registry is served
by a tiny in-process HTTP server standing in for the warehouse.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson

from core.metrics_auth import probe_headers
from core.settings import Settings
from schemas.sites import Site, SiteType

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-admin"
SITE = Site(id="bench", name="Bench", type=SiteType.PORTAL, domains=("bench.gov.vn",))
TARGET_HITS_S = 20_000
UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) coc_coc_browser/120.0 Chrome/120.0 Mobile Safari/537.36",
)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bodies(count: int, lines: int) -> list[bytes]:
    rng = random.Random(7)
    now_ms = int(time.time() * 1000)
    out = []
    for _ in range(count):
        hits = [
            {
                "site": SITE.id,
                "url": f"https://bench.gov.vn/page/{rng.randrange(200)}?q={rng.randrange(10)}",
                "referrer": "https://www.google.com/",
                "type": "pageview",
                "ts": now_ms - rng.randrange(60_000),
                "ip": f"14.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                "ua": rng.choice(UAS),
            }
            for _ in range(lines)
        ]
        out.append(b"\n".join(orjson.dumps(hit) for hit in hits))
    return out


def _beacons(count: int) -> list[tuple[str, bytes]]:
    """``count`` distinct (User-Agent, beacon body) pairs: distinct visitors and pages."""
    rng = random.Random(11)
    out = []
    for i in range(count):
        body = {"s": SITE.id, "u": f"https://bench.gov.vn/page/{rng.randrange(200)}", "t": "p"}
        if i % 3 == 0:
            body["r"] = "https://www.google.com/"
        out.append((f"{rng.choice(UAS)} bench/{i}", orjson.dumps(body)))
    return out


def _lua_bulk(bodies: list[bytes]) -> str:
    quoted = ",\n".join(f"[==[{body.decode()}]==]" for body in bodies)
    return f"""
local bodies = {{
{quoted}
}}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-ndjson"
wrk.headers["Authorization"] = "Bearer {TOKEN}"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "/v1/hits", nil, bodies[i])
end
"""


def _lua_beacon(beacons: list[tuple[str, bytes]]) -> str:
    uas = ",\n".join(f"[==[{ua}]==]" for ua, _ in beacons)
    bodies = ",\n".join(f"[==[{body.decode()}]==]" for _, body in beacons)
    return f"""
local uas = {{
{uas}
}}
local bodies = {{
{bodies}
}}
local i = 0
wrk.method = "POST"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "/collect",
    {{["Content-Type"] = "text/plain;charset=UTF-8", ["User-Agent"] = uas[i]}}, bodies[i])
end
"""


class _Registry(BaseHTTPRequestHandler):
    """Stands in for the warehouse's ``GET /api/v1/sites``."""

    def do_GET(self) -> None:
        body = json.dumps([SITE.model_dump(mode="json")]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 300:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer 2xx within {timeout_s} s")


def _wrk(url: str, script: Path, duration_s: int, connections: int) -> tuple[float, int, str]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, int(bad.group(1)) if bad else 0, out


def _python_load(
    url: str, requests: list[tuple[str, dict[str, str], bytes]], duration_s: int, connections: int
) -> tuple[float, int, str]:
    """Fallback load generator, run in a child process so it does not share our core.
    ``requests`` are (path, headers, body), posted round-robin."""
    code = f"""
import asyncio, time, httpx, sys, pickle
requests = pickle.loads(sys.stdin.buffer.read())
async def main():
    done = bad = 0
    end = time.monotonic() + {duration_s}
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections={connections})) as client:
        async def worker(k):
            nonlocal done, bad
            i = k
            while time.monotonic() < end:
                path, headers, body = requests[i % len(requests)]
                r = await client.post("{url}" + path, content=body, headers=headers)
                i += 1
                done += 1
                bad += r.status_code >= 300
        await asyncio.gather(*(worker(k) for k in range({connections})))
    print(done / {duration_s}, bad)
asyncio.run(main())
"""
    import pickle

    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(requests), capture_output=True, check=True
    ).stdout.decode()
    rate, bad = out.split()
    return float(rate), int(bad), out


def _start_kafka(work: Path, bootstrap: str | None) -> tuple[str, Any]:
    if bootstrap:
        return bootstrap, None
    from emc.kafka_local import LocalKafka, ensure_jars

    settings = Settings()
    kafka = LocalKafka(
        libs_dir=ensure_jars(settings.cache_dir),
        data_dir=work / "kafka",
        port=_free_port(),
        controller_port=_free_port(),
        heap="512m",
        java_bin=settings.java_bin,
    )
    kafka.start(timeout_s=90)
    return kafka.bootstrap, kafka


async def _create_topics(bootstrap: str, prefix: str) -> None:
    from broker.topics import ensure_topics

    await ensure_topics(bootstrap, Settings(topic_prefix=prefix).topics.specs())


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load_average() -> str:
    """The machine's 1/5/15-minute load average, printed with every result."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


Server = tuple[str, list[int]]  # (base URL, pids whose CPU counts)


def _run_mode(
    mode: str,
    args: argparse.Namespace,
    work: Path,
    use_wrk: bool,
    *,
    servers: dict[str, Server],
) -> dict[str, float]:
    """Warm up, then load each server alike, ``--rounds`` times in turn (bare, collector,
    bare, … so that the machine's other load hits them alike); print each run with the load
    average, hits/s, the servers' CPU time per hit (robust against other load on the machine)
    and the ratios of the medians. Returns the median hits/s per server."""
    if mode == "bulk":
        bodies = _bodies(args.bodies, args.lines)
        lua = _lua_bulk(bodies)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
        requests = [("/v1/hits", headers, body) for body in bodies]
        hits_per_request = args.lines
        title = f"bulk: NDJSON batches of {args.lines} hits to /v1/hits"
    else:
        beacons = _beacons(args.bodies * 10)
        lua = _lua_beacon(beacons)
        requests = [
            ("/collect", {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": ua}, body)
            for ua, body in beacons
        ]
        hits_per_request = 1
        title = "beacon: one hit per POST /collect"
    script = work / f"{mode}.lua"
    script.write_text(lua)

    def load(url: str, duration_s: int) -> tuple[float, int, str]:
        if use_wrk:
            return _wrk(url, script, duration_s, args.connections)
        return _python_load(url, requests, duration_s, args.connections)

    print(f"--- {title}; {args.rounds} rounds of {args.duration} s, {_load_average()}")
    for url, _ in servers.values():
        load(url, args.warmup)  # warm-up: connections, metadata, caches, the broker's JIT
    rates: dict[str, list[float]] = {name: [] for name in servers}
    for round_no in range(1, args.rounds + 1):
        for name, (url, pids) in servers.items():
            cpu_before_s = sum(_cpu_s(pid) for pid in pids)
            rate, bad, raw = load(url, args.duration)
            cpu_s = sum(_cpu_s(pid) for pid in pids) - cpu_before_s
            cpu_us_per_hit = cpu_s * 1e6 / (rate * args.duration * hits_per_request)
            rates[name].append(rate * hits_per_request)
            latency = re.findall(r"^\s+(50|99)%\s+(\S+)", raw, re.MULTILINE)
            print(
                f"[{round_no}] {name:<14} {rate * hits_per_request:>10,.0f} hits/s "
                f"({rate:,.0f} req/s, server CPU {cpu_us_per_hit:,.1f} µs/hit, non-2xx {bad}, "
                f"latency p50/p99 {'/'.join(v for _, v in latency) or 'n/a'}, {_load_average()})"
            )
    medians = {name: statistics.median(values) for name, values in rates.items()}
    bare = medians["bare ASGI"]
    for name, value in medians.items():
        if name == "bare ASGI":
            continue
        per_round = ", ".join(
            f"{c / b:.2f}" for c, b in zip(rates[name], rates["bare ASGI"], strict=True)
        )
        print(
            f"ratio {name} / bare ASGI: {value / bare:.2f} (medians {value:,.0f} / {bare:,.0f}"
            f" hits/s; per round {per_round}){' — target ≥ 0.40' if name == 'collector' else ''}"
        )
    if mode == "bulk":
        met = medians["collector"] >= TARGET_HITS_S
        print(f"target ≥ {TARGET_HITS_S:,} hits/s on one worker: {'met' if met else 'NOT met'}")
    return medians


def _collectors(count: int, env: dict[str, str], work: Path) -> list[subprocess.Popen[bytes]]:
    """``count`` collector processes on one port, started as ``emc up`` starts them."""
    metrics_dir = work / f"collector-metrics-{count}"
    metrics_dir.mkdir()
    argv = [sys.executable, "-m", "emc.cli", "collector", "--reuse-port"]
    argv += ["--metrics-dir", str(metrics_dir)]
    return [subprocess.Popen(argv, cwd=REPO, env=env) for _ in range(count)]


def _wait_workers(url: str, count: int, timeout_s: float = 60) -> None:
    """Until ``count`` processes answer ``/stats`` with Kafka connected (``/readyz``)."""
    _wait_http(f"{url}/readyz", timeout_s)
    ops = probe_headers(Settings())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/stats", headers=ops, timeout=5).json().get("workers") == count:
            return
        time.sleep(0.3)
    raise RuntimeError(f"{count} collector processes did not start within {timeout_s} s")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per server")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of load before")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--lines", type=int, default=100, help="hits per batch")
    parser.add_argument(
        "--bodies",
        type=int,
        default=100,
        help="distinct batches cycled by the load (100 x 100 hits = 10,000 visitors, more than "
        "the collector's visitor-id cache, so the cache does not flatter the numbers)",
    )
    parser.add_argument("--mode", choices=("bulk", "beacon", "both"), default="both")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="collector processes on one port for the last beacon run (0: skip it); default: "
        "the cores, as EMC_COLLECTOR_WORKERS",
    )
    parser.add_argument("--bootstrap", help="an existing broker (default: start a local one)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="emc-collector-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    kafka: Any = None
    registry = ThreadingHTTPServer(("127.0.0.1", _free_port()), _Registry)
    threading.Thread(target=registry.serve_forever, daemon=True).start()
    try:
        bootstrap, kafka = _start_kafka(work, args.bootstrap)
        prefix = f"bench{os.getpid()}."
        asyncio.run(_create_topics(bootstrap, prefix))
        collector_port, bare_port = _free_port(), _free_port()
        env = {
            **os.environ,
            "EMC_KAFKA_BOOTSTRAP": bootstrap,
            "EMC_TOPIC_PREFIX": prefix,
            "EMC_ADMIN_TOKEN": TOKEN,
            "EMC_SECRET_KEY": "bench-secret",
            "EMC_DATA_DIR": str(work),
            "EMC_COLLECTOR_PORT": str(collector_port),
            "EMC_API_URL": f"http://127.0.0.1:{registry.server_address[1]}",
            "EMC_LOG_LEVEL": "WARNING",
        }
        collectors = _collectors(1, env, work)
        procs += collectors
        bare_proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(bare_port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            env=env,
        )
        procs.append(bare_proc)
        collector = f"http://127.0.0.1:{collector_port}"
        bare = f"http://127.0.0.1:{bare_port}"
        _wait_workers(collector, 1)
        _wait_http(f"{bare}/")

        use_wrk = shutil.which("wrk") is not None
        print(
            f"load: {'wrk' if use_wrk else 'python'} -c{args.connections}; broker {bootstrap}; "
            f"{os.cpu_count()} cores; EMC_PRODUCE_INTERVAL_MS "
            f"{Settings().produce_interval_ms:g}"
        )
        modes = ("bulk", "beacon") if args.mode == "both" else (args.mode,)
        bare_server = (bare, [bare_proc.pid])
        for mode in modes:
            _run_mode(
                mode,
                args,
                work,
                use_wrk,
                servers={
                    "bare ASGI": bare_server,
                    "collector": (collector, [c.pid for c in collectors]),
                },
            )
        ops = probe_headers(Settings())  # the collector inherits EMC_METRICS_TOKEN, if set
        stats = httpx.get(f"{collector}/stats", headers=ops, timeout=5).json()
        print(
            f"collector /stats accepted hits (incl. warm-up): {stats['accepted'].get('hits', 0):,}; "
            f"kafka_unavailable: {stats['rejected'].get('kafka_unavailable', 0)}"
        )
        if args.workers > 1 and "beacon" in modes:
            _stop(collectors)
            group = _collectors(args.workers, env, work)
            procs += group
            _wait_workers(collector, args.workers)
            _run_mode(
                "beacon",
                args,
                work,
                use_wrk,
                servers={
                    "bare ASGI": bare_server,
                    f"collector x{args.workers}": (collector, [c.pid for c in group]),
                },
            )
    finally:
        _stop(procs)
        registry.shutdown()
        if kafka is not None:
            kafka.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
