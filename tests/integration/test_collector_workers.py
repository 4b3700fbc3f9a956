"""Two collector processes on one port (what ``emc up`` runs with ``EMC_COLLECTOR_WORKERS=2``):
both answer, a site registered after they started is accepted by each of them, and whichever
answers ``/metrics`` and ``/stats`` reports the sum of both, also after one was killed.

Real processes (``emc collector --reuse-port --metrics-dir``), the session's real Kafka broker,
and a tiny HTTP server standing in for the warehouse's site registry. A keep-alive connection
stays with the process that accepted it, so each client below talks to one worker; ``/stats``
says which (its ``pid``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from broker.topics import ensure_topics
from core import metrics
from core.settings import Settings
from schemas.sites import Site, SiteType
from tests.conftest import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
OLD = Site(id="old", name="Old", type=SiteType.PORTAL, domains=("old.gov.vn",))
NEW = Site(id="new", name="New", type=SiteType.PORTAL, domains=("new.gov.vn",))


class _Registry(BaseHTTPRequestHandler):
    """``GET /api/v1/sites`` of the warehouse: whatever ``sites`` holds now."""

    sites: ClassVar[list[Site]] = [OLD]

    def do_GET(self) -> None:
        body = json.dumps([s.model_dump(mode="json") for s in self.sites]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def registry() -> Iterator[str]:
    _Registry.sites = [OLD]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _beacon(site: Site, page: str) -> bytes:
    return json.dumps({"s": site.id, "u": f"https://{site.domains[0]}/{page}"}).encode()


def _worker_clients(url: str, timeout_s: float = 60) -> dict[int, httpx.Client]:
    """One keep-alive client per worker, found by opening connections until ``/stats`` has
    named two different processes."""
    clients: dict[int, httpx.Client] = {}
    deadline = time.monotonic() + timeout_s
    while len(clients) < 2 and time.monotonic() < deadline:
        client = httpx.Client(base_url=url, limits=httpx.Limits(max_connections=1), timeout=10)
        try:
            pid = client.get("/stats").json()["pid"]
        except httpx.HTTPError:
            client.close()
            time.sleep(0.2)
            continue
        if pid in clients:
            client.close()
        else:
            clients[pid] = client
    assert len(clients) == 2, f"only {list(clients)} answered within {timeout_s} s"
    return clients


def test_two_workers_share_the_port_the_registry_and_the_metrics(
    kafka_bootstrap: str, topic_prefix: str, registry: str, tmp_path: Path
) -> None:
    asyncio.run(ensure_topics(kafka_bootstrap, Settings(topic_prefix=topic_prefix).topics.specs()))
    port = free_port()
    metrics_dir = tmp_path / "collector-metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "EMC_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "EMC_TOPIC_PREFIX": topic_prefix,
        "EMC_ADMIN_TOKEN": "adm",
        "EMC_SECRET_KEY": "sk",
        "EMC_DATA_DIR": str(tmp_path),
        "EMC_COLLECTOR_PORT": str(port),
        "EMC_API_URL": registry,
        "EMC_SITES_REFRESH_S": "3600",  # only an unknown site makes a worker reload
        "EMC_LOG_LEVEL": "WARNING",
    }
    env.pop("EMC_METRICS_TOKEN", None)
    argv = [sys.executable, "-m", "emc.cli", "collector", "--reuse-port"]
    argv += ["--metrics-dir", str(metrics_dir)]
    logs = [(tmp_path / f"collector-{i}.log").open("wb") for i in (1, 2)]
    workers = [
        subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        for log in logs
    ]
    clients: dict[int, httpx.Client] = {}
    try:
        clients = _worker_clients(f"http://127.0.0.1:{port}")
        assert set(clients) == {w.pid for w in workers}
        for client in clients.values():  # Kafka connected: a 202 needs it
            deadline = time.monotonic() + 60
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "a worker never reached Kafka"
                time.sleep(0.3)

        _Registry.sites = [OLD, NEW]  # registered after both workers loaded the registry
        text = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": "Firefox/140"}
        for pid, client in clients.items():
            for site in (OLD, NEW):
                answer = client.post("/collect", content=_beacon(site, str(pid)), headers=text)
                assert answer.status_code == 202, (pid, site.id, answer.text)
            assert client.get("/stats").json()["pid"] == pid  # the same worker answered

        # either worker answers for both, once the other flushed its beacon tally (every
        # Tally.FLUSH_S; a worker flushes its own before it answers)
        time.sleep(metrics.Tally.FLUSH_S * 3)
        for client in clients.values():
            stats = client.get("/stats").json()
            assert stats["accepted"]["hits"] == 4 and stats["workers"] == 2, stats
            assert stats["responses"]["202"] == 4
            s = _samples(client.get("/metrics").text)
            assert s[("emc_collector_accepted_total", (("kind", "hits"),))] == 4
            assert s[("emc_collector_workers", ())] == 2
            key = ("emc_http_requests_total", (("endpoint", "/collect"), ("status", "202")))
            assert s[key] == 4

        # a worker is killed: its counts stay in the sum, and once the supervisor marked it
        # dead it no longer counts as alive
        victim, survivor = workers[0], clients[workers[1].pid]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        metrics.mark_process_dead(victim.pid, metrics_dir)
        s = _samples(survivor.get("/metrics").text)
        assert s[("emc_collector_accepted_total", (("kind", "hits"),))] == 4
        assert s[("emc_collector_workers", ())] == 1
    finally:
        for client in clients.values():
            client.close()
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker, log in zip(workers, logs, strict=True):
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
            log.close()
