"""Real browser → collector → Kafka → Faust worker → sink → ClickHouse.

Headless Chromium (Debian's ``chromium`` package, ``make browser``) opens pages served locally
that embed (a) ``emc.js`` and (b) the EMC ``_govaq`` snippet with only its script URL swapped;
each page navigates a single-page route and clicks an outbound link (and a download). A Node
client of the Matomo tracking API from the npm registry (``matomo-tracker``) sends hits too.
Every pageview and event must then be a row in ClickHouse. Skipped, saying why, when Chromium or
the npm package is not installed (``make browser`` installs both).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from broker.topics import ensure_topics
from core.settings import Settings
from schemas.sites import Site, SiteType
from tests.conftest import free_port
from tests.integration.test_pipeline_e2e import REPO, Stack, _build_geoip

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NPM_DIR = Path(os.environ.get("EMC_CACHE_DIR", Path.home() / ".cache" / "openemc")) / "npm"
MATOMO_TRACKER = NPM_DIR / "node_modules" / "matomo-tracker"
NODE = shutil.which("node")
CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)"),
]

EMC_PAGE = """<!doctype html><html><head><title>emc.js page</title>
<script defer src="{collector}/emc.js" data-site="web" data-links></script></head><body>
<a id="out" href="http://example.invalid/x">outbound</a>
<a id="file" href="/files/report.pdf">report</a>
<script>
for (const a of document.querySelectorAll("a")) a.addEventListener("click", e => e.preventDefault());
window.addEventListener("load", () => setTimeout(() => {{
  history.pushState({{}}, "", "/spa/route");
  document.getElementById("out").click();
  document.getElementById("file").click();
}}, 50));
</script></body></html>"""

# The EMC snippet as portals carry it; only the script URL (and tracker URL) point here.
GOVAQ_PAGE = """<!doctype html><html><head><title>govaq page</title>
<script type="text/javascript">
  var _govaq = window._govaq || [];
  _govaq.push(['trackPageView']);
  _govaq.push(['enableLinkTracking']);
  (function() {{
    _govaq.push(['setTrackerUrl', '{collector}/tracking']);
    _govaq.push(['setSiteId', '3']);
    var d = document, g = d.createElement('script'), s = d.getElementsByTagName('script')[0];
    g.type = 'text/javascript'; g.async = true; g.defer = true;
    g.src = '{collector}/emc-compat.js';
    s.parentNode.insertBefore(g, s);
  }})();
</script></head><body>
<a id="out" href="http://example.invalid/y">outbound</a>
<script>
document.getElementById("out").addEventListener("click", e => e.preventDefault());
window.addEventListener("load", () => setTimeout(() => {{
  _govaq.push(['trackDVC', '1.000123', 'submit']);
  history.pushState({{}}, "", "/govaq/spa");
  _govaq.push(['setCustomUrl', '/govaq/spa']);
  _govaq.push(['setDocumentTitle', 'SPA view']);
  _govaq.push(['trackPageView']);
  document.getElementById("out").click();
}}, 50));
</script></body></html>"""

NODE_SCRIPT = """
const MatomoTracker = require(process.argv[2]);
const t = new MatomoTracker(3, process.argv[3] + '/matomo.php');
const common = {token_auth: 'web-token', ua: 'Mozilla/5.0 Firefox/121.0', cip: '198.51.100.20'};
t.trackBulk([
  Object.assign({url: 'http://localhost/node-1', action_name: 'Node 1'}, common),
  Object.assign({url: 'http://localhost/node-1', e_c: 'dvc', e_a: 'view', e_n: '2.0001'}, common),
], body => { console.log(body); });
"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    kafka_bootstrap: str, clickhouse_engine: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Stack, str]]:
    from clickhouse.client import Database
    from clickhouse.migrate import migrate
    from ingest.app import create_app
    from ingest.sites import SiteCache
    from sink.sink import Sink

    tmp = tmp_path_factory.mktemp("browser")
    run = uuid.uuid4().hex[:8]
    database = f"browser_{run}"
    clickhouse_engine.command(f"CREATE DATABASE {database}")
    migrate(clickhouse_engine, database)
    env = {
        "EMC_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "EMC_TOPIC_PREFIX": f"br{run}.",
        "EMC_CONSUMER_GROUP_PREFIX": f"br{run}",
        "EMC_DATA_DIR": str(tmp / "data"),
        "EMC_GEOIP_DB": str(_build_geoip(tmp / "geo.mmdb")),
        "EMC_CLICKHOUSE_DATABASE": database,
        "EMC_COLLECTOR_PORT": str(free_port()),
        "EMC_STREAMS_WEB_PORT": str(free_port()),
        "EMC_SINK_FLUSH_INTERVAL_MS": "200",
        "EMC_ADMIN_TOKEN": "browser-token",
        "EMC_SECRET_KEY": "browser-secret",
        "EMC_LOG_LEVEL": "WARNING",
    }
    settings = Settings(**{k[4:].lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    await ensure_topics(settings.bootstrap_servers, settings.topics.specs())
    worker = subprocess.Popen(
        [sys.executable, "-m", "streams"],
        env={**os.environ, **env},
        cwd=REPO,
        stdout=(tmp / "streams.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    db = Database(clickhouse_engine, database)
    sink = Sink(settings, db)
    stop = asyncio.Event()
    sink_task = asyncio.create_task(sink.run(stop))
    site = Site(
        id="web",
        name="Browser test portal",
        type=SiteType.PORTAL,
        domains=("localhost",),
        ingest_token="web-token",
        matomo_id=3,
    )
    collector = create_app(settings, sites=SiteCache.static([site]))
    collector_url = f"http://127.0.0.1:{settings.collector_port}"
    pages_port = free_port()
    pages = Starlette(
        routes=[
            Route("/emc.html", lambda r: HTMLResponse(EMC_PAGE.format(collector=collector_url))),
            Route(
                "/govaq.html", lambda r: HTMLResponse(GOVAQ_PAGE.format(collector=collector_url))
            ),
        ]
    )
    servers = [
        uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        for app, port in ((collector, settings.collector_port), (pages, pages_port))
    ]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    async with httpx.AsyncClient(base_url=collector_url) as client:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
    try:
        yield Stack(settings, collector_url, db, "browser-token"), f"http://localhost:{pages_port}"
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks)
        stop.set()
        await asyncio.wait_for(sink_task, timeout=60)
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {database} SYNC")


async def _open(url: str) -> str:
    """Load ``url`` in headless Chromium, let the page run, return the final DOM."""
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        f"--user-agent={CHROME_UA}", "--virtual-time-budget=3000", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return out.decode()


async def test_emc_js_in_a_real_browser(stack: tuple[Stack, str]) -> None:
    s, pages = stack
    dom = await _open(f"{pages}/emc.html")
    assert "outbound" in dom
    await s.drained()
    rows = set(s.rows("SELECT path, type, name FROM pageviews WHERE site = 'web'"))
    # a pageview's name is the page's title (issue 17 item 3, "page titles beside paths")
    assert ("/emc.html", "pageview", "emc.js page") in rows
    assert ("/spa/route", "pageview", "emc.js page") in rows
    assert ("/spa/route", "event", "outbound:http://example.invalid/x") in rows
    assert ("/spa/route", "event", "download:/files/report.pdf") in rows
    assert s.scalar("SELECT count() FROM bot_hits WHERE site = 'web'") == 0


async def test_unchanged_govaq_snippet_in_a_real_browser(stack: tuple[Stack, str]) -> None:
    s, pages = stack
    await _open(f"{pages}/govaq.html")
    await s.drained()
    rows = set(
        s.rows(
            "SELECT path, type, name FROM pageviews WHERE site = 'web' "
            "AND startsWith(path, '/govaq')"
        )
    )
    assert rows == {
        ("/govaq.html", "pageview", "govaq page"),
        ("/govaq.html", "event", "dvc/submit/1.000123"),
        ("/govaq/spa", "pageview", "SPA view"),
        ("/govaq/spa", "event", "outbound:http://example.invalid/y"),
    }


@pytest.mark.skipif(
    NODE is None or not MATOMO_TRACKER.exists(),
    reason="node or the npm package matomo-tracker is missing (make browser)",
)
async def test_node_matomo_tracker_client(stack: tuple[Stack, str], tmp_path: Path) -> None:
    s, _ = stack
    script = tmp_path / "send.js"
    script.write_text(NODE_SCRIPT)
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE, str(script), str(MATOMO_TRACKER), s.collector_url, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0
    assert '"tracked":2' in out.decode()
    await s.drained()
    rows = set(
        s.rows(
            "SELECT path, type, name, browser, country FROM pageviews "
            "WHERE site = 'web' AND path = '/node-1'"
        )
    )
    assert {(p, t, n) for p, t, n, _, _ in rows} == {
        ("/node-1", "pageview", "Node 1"),
        ("/node-1", "event", "dvc/view/2.0001"),
    }
    assert {b for _, _, _, b, _ in rows} == {"Firefox"}
