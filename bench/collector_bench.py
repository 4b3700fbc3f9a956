"""Collector throughput: the real collector (uvicorn, one worker) against a local Kafka broker,
and a bare ASGI endpoint (``bench/bare_asgi.py``) under the same load: ``wrk`` posting NDJSON
batches of ``--lines`` hits to ``/v1/hits``. Prints hits/s for both and their ratio; the target
(≥ 20,000 hits/s accepted on one worker with bulk batches) is printed beside, never asserted.

    .venv/bin/python -m bench.collector_bench --duration 15 --connections 32

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

from emc.settings import Settings
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


def _lua(bodies: list[bytes]) -> str:
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
    url: str, bodies: list[bytes], duration_s: int, connections: int
) -> tuple[float, int, str]:
    """Fallback load generator, run in a child process so it does not share our core."""
    code = f"""
import asyncio, time, httpx, sys, pickle
bodies = pickle.loads(sys.stdin.buffer.read())
async def main():
    done = bad = 0
    end = time.monotonic() + {duration_s}
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections={connections})) as client:
        async def worker(k):
            nonlocal done, bad
            i = k
            while time.monotonic() < end:
                r = await client.post("{url}/v1/hits", content=bodies[i % len(bodies)],
                    headers={{"Authorization": "Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}})
                i += 1
                done += 1
                bad += r.status_code >= 300
        await asyncio.gather(*(worker(k) for k in range({connections})))
    print(done / {duration_s}, bad)
asyncio.run(main())
"""
    import pickle

    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(bodies), capture_output=True, check=True
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
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        specs = [s for s in Settings(topic_prefix=prefix).topics.specs() if "raw" in s.name]
        await admin.create_topics(
            [NewTopic(s.name, num_partitions=s.partitions, replication_factor=1) for s in specs]
        )
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--lines", type=int, default=100, help="hits per batch")
    parser.add_argument(
        "--bodies",
        type=int,
        default=100,
        help="distinct batches cycled by the load (100 x 100 hits = 10,000 visitors, more than "
        "the collector's visitor-id cache, so the cache does not flatter the numbers)",
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
        procs.append(subprocess.Popen([sys.executable, "-m", "ingest.server"], cwd=REPO, env=env))
        procs.append(
            subprocess.Popen(
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
        )
        collector = f"http://127.0.0.1:{collector_port}"
        bare = f"http://127.0.0.1:{bare_port}"
        _wait_http(f"{collector}/readyz")
        _wait_http(f"{bare}/")

        bodies = _bodies(args.bodies, args.lines)
        script = work / "post_ndjson.lua"
        script.write_text(_lua(bodies))
        use_wrk = shutil.which("wrk") is not None

        def load(url: str, duration_s: int) -> tuple[float, int, str]:
            if use_wrk:
                return _wrk(url, script, duration_s, args.connections)
            return _python_load(url, bodies, duration_s, args.connections)

        print(
            f"load: {'wrk' if use_wrk else 'python'} -c{args.connections}, "
            f"NDJSON batches of {args.lines} hits, {args.duration} s per run; broker {bootstrap}"
        )
        load(collector, 3)  # warm-up: connections, metadata, caches
        load(bare, 3)
        results: dict[str, tuple[float, int]] = {}
        for name, url in (("bare ASGI", bare), ("collector", collector)):
            rate, bad, raw = load(url, args.duration)
            results[name] = (rate, bad)
            latency = re.findall(r"^\s+(50|99)%\s+(\S+)", raw, re.MULTILINE)
            print(
                f"{name:<10} {rate * args.lines:>10,.0f} hits/s  ({rate:,.0f} req/s, "
                f"non-2xx {bad}, latency p50/p99 {'/'.join(v for _, v in latency) or 'n/a'})"
            )
        stats = httpx.get(f"{collector}/stats", timeout=5).json()
        print(
            f"collector /stats accepted hits (incl. warm-up): {stats['accepted'].get('hits', 0):,}; "
            f"kafka_unavailable: {stats['rejected'].get('kafka_unavailable', 0)}"
        )
        collector_hits = results["collector"][0] * args.lines
        bare_hits = results["bare ASGI"][0] * args.lines
        print(f"ratio collector / bare ASGI: {collector_hits / bare_hits:.2f}")
        print(
            f"target ≥ {TARGET_HITS_S:,} hits/s on one worker: "
            f"{'met' if collector_hits >= TARGET_HITS_S and results['collector'][1] == 0 else 'NOT met'}"
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        registry.shutdown()
        if kafka is not None:
            kafka.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
