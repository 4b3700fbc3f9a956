"""Dashboard first screen with data: how long from opening the portal screen until every number,
chart and the map are drawn (``<body data-status="ready">``), in Debian's Chromium against a real
HTTP warehouse API over synthetic traffic (``bench.portal_bench.load``). The issue's target
(≤ 1 s on the demo data set) is printed beside, never asserted.

    .venv/bin/python -m bench.dashboard_bench --pageviews 1000000 --sites 50

The page clock is set to 2025-12-31 (the synthetic traffic covers 2025), so the default
30-day preset and the year preset both have data. "cold" = a new tab with an empty cache
(libraries and map geometry fetched); "warm" = a reload of the same tab.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from api.app import create_app
from bench.portal_bench import TOKEN, load
from clickhouse.client import Database, connect
from clickhouse.migrate import migrate
from core.settings import Settings

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
NOW = datetime(2025, 12, 31, 5, 0, tzinfo=UTC)


def serve(db: Database, settings: Settings, port: int) -> uvicorn.Server:
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


def measure(url: str, screens: list[tuple[str, str]], repeat: int) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed: run `make browser`")
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=FLAGS
        )
        ready = "document.body.dataset.status === 'ready' && document.body.dataset.renders > 0"
        for label, hash_ in screens:
            cold, warm = [], []
            for _ in range(repeat):
                page = context.new_page()
                page.clock.set_fixed_time(NOW)
                page.goto(f"{url}/")
                page.evaluate("t => sessionStorage.setItem('emc.token', t)", TOKEN)
                page.goto("about:blank")
                page.route("**/*", lambda route: route.continue_())  # bypasses the HTTP cache
                began = time.perf_counter()
                page.goto(f"{url}/#{hash_}")
                page.wait_for_function(ready, timeout=60_000)
                cold.append(time.perf_counter() - began)
                page.unroute("**/*")
                began = time.perf_counter()
                page.reload()
                page.wait_for_function(ready, timeout=60_000)
                warm.append(time.perf_counter() - began)
                page.close()
            print(
                f"  {label:<44} cold {statistics.median(cold) * 1000:7.0f} ms"
                f"   warm {statistics.median(warm) * 1000:7.0f} ms   target ≤ 1000 ms"
            )
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pageviews", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, default=18_765)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="emc-dashboard-bench-"))
    try:
        client = connect(None, path, "bench")
        migrate(client, "bench")
        db = Database(client, "bench")
        print(f"loading ~{args.pageviews:,} pageviews over {args.sites} sites (2025)")
        visits, seconds = load(db, args.pageviews, args.sites)
        print(f"loaded {visits:,} visits in {seconds:.0f} s")
        settings = Settings(clickhouse_database="bench", admin_token=TOKEN)  # type: ignore[arg-type]
        server = serve(db, settings, args.port)
        print(f"\nfirst screen with data, median of {args.repeat}:")
        try:
            measure(
                f"http://127.0.0.1:{args.port}",
                [
                    ("portal, biggest site, 30 days", "/portal?site=site0&preset=30d"),
                    ("portal, biggest site, this year", "/portal?site=site0&preset=year"),
                    ("portal, two sites side by side, 30 days", "/portal?site=site0&vs=site1"),
                ],
                args.repeat,
            )
        finally:
            server.should_exit = True
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
