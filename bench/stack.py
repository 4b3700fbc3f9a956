"""The whole stack (`emc up --no-demo`) in a temporary folder, and a steady hit load against it.

Shared by the end-to-end benchmark (`bench.e2e_bench`) and the soak run (`bench.soak`), so both
measure the same stack started the same way: free ports, a throw-away data folder, one
registered site, NDJSON batches of synthetic hits posted at a fixed rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from core.settings import Settings
from emc.demo import USER_AGENTS
from schemas.sites import Site, SiteType

SITE = "bench"
#: Synthetic visitors the load cycles through (a visitor comes back every VISITORS / rate s).
VISITORS = 50_000
#: Stack processes by role: the substring of their command line that identifies them.
ROLES = {
    "collector": "emc.cli collector",
    "streams": "emc.cli streams",
    "warehouse": "emc.cli warehouse",
    "kafka": "kafka.Kafka",
}


def load_parser(
    doc: str | None, rate: float, duration_s: float, batch: int
) -> argparse.ArgumentParser:
    """Command-line options every stack benchmark shares: ``--rate``, ``--duration``, ``--batch``."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=rate, help="hits per second to send")
    parser.add_argument("--duration", type=float, default=duration_s, help="seconds of load")
    parser.add_argument("--batch", type=int, default=batch, help="hits per POST")
    return parser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def payload(n: int, now_ms: int, seq: int) -> bytes:
    """``n`` NDJSON hits of batch ``seq``: 200 pages, ``VISITORS`` visitors, 10 user agents."""
    uas = [ua for ua, _ in USER_AGENTS[:10]]
    lines = []
    for i in range(n):
        v = (seq * n + i) % VISITORS
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


def marker_line(marker: str, now_ms: int) -> bytes:
    """One pageview of path ``marker`` (the e2e bench watches for it in the rollups)."""
    return orjson.dumps(
        {
            "site": SITE,
            "url": f"https://bench.gov.vn{marker}",
            "ts": now_ms,
            "ip": "14.161.0.1",
            "ua": USER_AGENTS[0][0],
        }
    )


def _children(ppid: int) -> list[int]:
    """Direct children of ``ppid`` (from /proc, Linux only)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name (2nd field) is in parentheses and may hold spaces
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == ppid:
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class Stack:
    """A running `emc up --no-demo`: its process, settings and the last lines it printed."""

    proc: subprocess.Popen[str]
    settings: Settings
    data_dir: Path
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    #: Keep the data folder (Kafka log, chDB, process logs) after ``stop``, e.g. after a crash.
    keep_data: bool = False

    @property
    def token(self) -> str:
        return self.settings.admin_token.get_secret_value()

    @property
    def collector_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.collector_port}"

    @property
    def api_url(self) -> str:
        return self.settings.warehouse_url

    @property
    def streams_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.streams_web_port}"

    def groups(self) -> dict[str, tuple[str, list[str]]]:
        """The stream worker's and the sink's consumer groups with the topics they read."""
        prefix, t = self.settings.consumer_group_prefix, self.settings.topics
        return {
            "streams": (f"{prefix}-streams", [t.hits_raw, t.dossiers_raw]),
            "sink": (f"{prefix}-sink", [t.pageviews, t.sessions, t.dossiers]),
        }

    def register_site(self) -> None:
        """Register the bench site and wait until the collector accepts hits for it."""
        site = Site(id=SITE, name="Bench", type=SiteType.PORTAL, domains=("bench.gov.vn",))
        httpx.put(
            f"{self.api_url}/api/v1/sites/{SITE}",
            headers={"Authorization": f"Bearer {self.token}"},
            json=site.model_dump(mode="json"),
            timeout=30,
        ).raise_for_status()
        self.wait_site_known()

    def wait_site_known(self, timeout_s: float = 60) -> None:
        """Post one hit until the collector accepts it: its site list refreshes on its own
        schedule, and hits sent before would be rejected as an unknown site and skew counts."""
        deadline = time.monotonic() + timeout_s
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/x-ndjson",
        }
        while time.monotonic() < deadline:
            body = payload(1, int(time.time() * 1000), 0)
            response = httpx.post(
                f"{self.collector_url}/v1/hits", content=body, headers=headers, timeout=30
            )
            if response.status_code == 202 and response.json().get("accepted") == 1:
                return
            time.sleep(0.5)
        raise TimeoutError(f"the collector did not accept site {SITE!r} in {timeout_s:.0f} s")

    def pids(self) -> dict[str, int]:
        """Process id of each role in ``ROLES`` among the supervisor's children."""
        found: dict[str, int] = {}
        for pid in _children(self.proc.pid):
            cmd = _cmdline(pid)
            for role, needle in ROLES.items():
                if needle in cmd:
                    found[role] = pid
        return found

    def stop(self) -> None:
        """Ctrl-C to the supervisor (it stops its children in reverse order), then remove the
        data folder (a 10-minute soak leaves ~700 MB of Kafka log) unless ``keep_data``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=90)
        if self.proc.poll() is None:  # still running after 90 s
            self.proc.kill()
            self.proc.wait()
        if self.keep_data:
            print(f"data and logs kept in {self.data_dir}")
        else:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def start_stack(log_level: str = "WARNING", timeout_s: float = 300) -> Stack | None:
    """Start the stack on free ports in a new temporary folder; None (after printing its output)
    when it exits or is not up within ``timeout_s``. Lines are echoed until it is up, then only
    kept in ``Stack.lines`` (read by a thread, so the pipe never fills)."""
    data = Path(tempfile.mkdtemp(prefix="emc-bench-"))
    os.environ.update(
        {
            "EMC_DATA_DIR": str(data),
            "EMC_COLLECTOR_PORT": str(free_port()),
            "EMC_API_PORT": str(free_port()),
            "EMC_KAFKA_PORT": str(free_port()),
            "EMC_KAFKA_CONTROLLER_PORT": str(free_port()),
            "EMC_STREAMS_WEB_PORT": str(free_port()),
            "EMC_LOG_LEVEL": log_level,
        }
    )
    # one collector process unless asked otherwise: the soak, end-to-end and restart numbers
    # in BENCHMARKS.md were measured with one, and ``pids()`` names one process per role
    os.environ.setdefault("EMC_COLLECTOR_WORKERS", "1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "emc.cli", "up", "--no-demo"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = Stack(proc, Settings(), data)
    up = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            stack.lines.append(line.rstrip())
            if not up.is_set():
                print("  stack:", line.rstrip(), flush=True)
            if "[emc] up:" in line:
                up.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not up.wait(0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            print("stack failed to start", flush=True)
            stack.keep_data = True
            stack.stop()
            return None
    return stack


@dataclass
class LoadCounts:
    """What the load generator saw: hits sent and accepted, answers other than 202 by status,
    transport errors."""

    sent: int = 0
    accepted: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0


async def steady_load(
    url: str,
    token: str,
    rate: float,
    duration_s: float,
    batch: int,
    counts: LoadCounts,
    markers: dict[str, float] | None = None,
) -> None:
    """Post ``rate`` hits/s in batches of ``batch`` for ``duration_s``. With ``markers``, one
    marker pageview per second is added; its path maps to the time the collector accepted it.
    At most 8 requests are in flight; finished ones are dropped (memory stays flat)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    loop = asyncio.get_running_loop()
    start = loop.time()
    interval = batch / rate
    seq = 0
    sem = asyncio.Semaphore(8)
    pending: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=60, limits=httpx.Limits(max_connections=8)
    ) as client:

        async def post(body: bytes, hits: int, marker: str | None) -> None:
            try:
                async with sem:
                    response = await client.post("/v1/hits", content=body)
            except httpx.HTTPError:
                counts.errors += 1
                return
            counts.sent += hits
            if response.status_code == 202:
                counts.accepted += int(response.json()["accepted"])
                if marker and markers is not None:
                    markers[marker] = time.time()
            else:
                counts.statuses[response.status_code] += 1

        next_marker = 0.0
        while (elapsed := loop.time() - start) < duration_s:
            now_ms = int(time.time() * 1000)
            body, hits, marker = payload(batch, now_ms, seq), batch, None
            if markers is not None and elapsed >= next_marker:
                marker = f"/fresh/{uuid.uuid4().hex[:12]}"
                body += b"\n" + marker_line(marker, now_ms)
                hits += 1
                next_marker += 1.0
            task = asyncio.create_task(post(body, hits, marker))
            pending.add(task)
            task.add_done_callback(pending.discard)
            seq += 1
            await asyncio.sleep(max(0.0, start + seq * interval - loop.time()))
        await asyncio.gather(*pending)
