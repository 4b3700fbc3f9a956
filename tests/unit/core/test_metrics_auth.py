"""``/metrics`` and ``/stats`` behind ``EMC_METRICS_TOKEN`` (``core.metrics_auth``) in all three
processes, the warning when it is unset, the CLI probe and the deploy files that send it.

The collector and the warehouse's ``instrument`` run in-process (fake producer, no database);
the stream worker's Faust app is built (never started) and its pages are called through its
own aiohttp router with mocked requests, so no test opens a socket.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.guard import Context
from core import metrics_auth
from core.metrics_auth import accepted_tokens, allowed
from core.settings import Settings
from ingest.app import create_app
from ingest.sites import SiteCache
from tests.unit.ingest.test_app import FakeProducer

ROOT = Path(__file__).resolve().parents[3]
METRICS = {"Authorization": "Bearer mt-secret"}
ADMIN = {"Authorization": "Bearer adm"}


def _settings(tmp_path: Path, **over: Any) -> Settings:
    return Settings(admin_token="adm", secret_key="sk", data_dir=tmp_path, **over)


def test_the_rule_in_isolation(tmp_path: Path) -> None:
    assert accepted_tokens(_settings(tmp_path)) == ()
    assert allowed(None, ()) and allowed("Bearer anything", ())  # unset: open
    tokens = accepted_tokens(_settings(tmp_path, metrics_token="mt-secret"))
    assert tokens == (b"mt-secret",)
    assert allowed("Bearer mt-secret", tokens) and allowed("bearer  mt-secret ", tokens)
    for header in (None, "", "Bearer", "Bearer ", "Basic mt-secret", "Bearer mt-secre", "adm"):
        assert not allowed(header, tokens), header
    assert not allowed("Bearer adm", tokens)
    both = accepted_tokens(_settings(tmp_path, metrics_token="mt-secret"), admin_too=True)
    assert allowed("Bearer adm", both) and allowed("Bearer mt-secret", both)
    # an empty variable (e.g. from compose) means unset, never "the empty token"
    assert Settings(metrics_token="").metrics_token is None  # type: ignore[arg-type]


def _collector(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, producer=FakeProducer(), sites=SiteCache.static([])))


def test_collector_requires_the_metrics_token_when_set(tmp_path: Path) -> None:
    with _collector(_settings(tmp_path, metrics_token="mt-secret")) as client:
        for path in ("/metrics", "/stats"):
            for headers in ({}, ADMIN, {"Authorization": "Bearer wrong"}):
                refused = client.get(path, headers=headers)
                assert refused.status_code == 401, (path, headers)
                assert "EMC_METRICS_TOKEN" in refused.json()["error"]
                assert refused.headers["www-authenticate"].startswith("Bearer")
            assert client.get(path, headers=METRICS).status_code == 200
        assert client.get("/healthz").status_code == 200  # health stays open
        assert "emc_collector_accepted_total" in client.get("/metrics", headers=METRICS).text


def test_collector_stays_open_and_warns_when_unset(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), _collector(_settings(tmp_path)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/stats").status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("EMC_METRICS_TOKEN" in w and "collector" in w for w in warnings), warnings


def test_no_warning_when_set(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), _collector(_settings(tmp_path, metrics_token="m")):
        pass
    assert not any("EMC_METRICS_TOKEN" in r.getMessage() for r in caplog.records)


def test_warehouse_metrics_take_the_metrics_or_the_admin_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from api.ops import instrument

    def warehouse(settings: Settings) -> Starlette:
        # the warehouse app's context, without a database (no route here reads one)
        app = Starlette()
        app.state.ctx = Context(settings, db=None)  # type: ignore[arg-type]
        return app

    with_token = _settings(tmp_path, metrics_token="mt-secret")
    served, _ = instrument(warehouse(with_token), None, with_token)
    with TestClient(served) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert "EMC_METRICS_TOKEN" in refused.json()["error"]
        assert "admin token" in refused.json()["error"]
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get("/metrics", headers=METRICS).status_code == 200
        assert client.get("/metrics", headers=ADMIN).status_code == 200
    with caplog.at_level(logging.WARNING):
        open_app, _ = instrument(warehouse(_settings(tmp_path)), None, _settings(tmp_path))
    with TestClient(open_app) as client:
        assert client.get("/metrics").status_code == 200
    assert any("EMC_METRICS_TOKEN" in r.getMessage() for r in caplog.records)


async def _faust_get(app: Any, path: str, headers: dict[str, str]) -> Any:
    from aiohttp.test_utils import make_mocked_request

    web_app = app.web.web_app
    request = make_mocked_request("GET", path, headers=headers, app=web_app)
    match = await web_app.router.resolve(request)
    request._match_info = match
    return await match.handler(request)


async def test_stream_worker_pages_require_the_metrics_token_when_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from streams.app import create_app as create_worker
    from tests.mmdb_builder import build_mmdb, country_record

    geoip = build_mmdb(tmp_path / "geo.mmdb", {"1.0.0.0/8": country_record("VN", "flat")})
    worker = create_worker(
        _settings(
            tmp_path, geoip_db=geoip, kafka_bootstrap="127.0.0.1:1", metrics_token="mt-secret"
        )
    )
    for path in ("/metrics", "/stats/"):
        for headers in ({}, ADMIN):
            refused = await _faust_get(worker, path, headers)
            assert refused.status == 401, (path, headers)
            assert b"EMC_METRICS_TOKEN" in refused.body
        assert (await _faust_get(worker, path, METRICS)).status == 200
    with caplog.at_level(logging.WARNING):
        open_worker = create_worker(
            _settings(tmp_path, geoip_db=geoip, kafka_bootstrap="127.0.0.1:1")
        )
    assert (await _faust_get(open_worker, "/metrics", {})).status == 200
    assert any("EMC_METRICS_TOKEN" in r.getMessage() for r in caplog.records)


def test_emc_status_sends_the_metrics_token_to_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from broker import lag
    from emc import ops_cli

    seen: dict[str, Any] = {}

    def fake_get(url: str, headers: Any = None, timeout: float = 0) -> httpx.Response:
        seen[url] = dict(headers or {})
        return httpx.Response(200)

    async def no_kafka(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no broker in unit tests")

    monkeypatch.setattr(ops_cli.httpx, "get", fake_get)
    monkeypatch.setattr(lag, "measure", no_kafka)
    status = ops_cli.stack_status(_settings(tmp_path, metrics_token="mt-secret"))
    streams = status["processes"]["streams"]["url"]
    assert seen[streams] == METRICS
    ops_cli.stack_status(_settings(tmp_path))
    assert seen[streams] == {}  # unset: nothing to send


def test_deploy_files_send_the_token() -> None:
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    for job in scrape["scrape_configs"]:
        auth = job["authorization"]
        assert auth["type"] == "Bearer" and auth["credentials_file"], job["job_name"]
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    assert compose["x-emc"]["environment"]["EMC_METRICS_TOKEN"].startswith(
        "${EMC_METRICS_TOKEN:?"
    )  # required in production
    assert "EMC_METRICS_TOKEN=" in (ROOT / "deploy" / "example.env").read_text()


def test_the_401_body_names_the_setting() -> None:
    assert metrics_auth.unauthorized_body() == {
        "error": "missing or wrong bearer token: this endpoint needs "
        "Authorization: Bearer <EMC_METRICS_TOKEN>"
    }


async def test_stream_worker_serves_no_table_or_router_pages(tmp_path: Path) -> None:
    """Faust serves /table/<name>/<key>/ (visitor state) and /router/ by default, without a
    token; the worker turns them off."""
    from streams.app import create_app as create_worker
    from tests.mmdb_builder import build_mmdb, country_record

    geoip = build_mmdb(tmp_path / "geo.mmdb", {"1.0.0.0/8": country_record("VN", "flat")})
    worker = create_worker(_settings(tmp_path, geoip_db=geoip, kafka_bootstrap="127.0.0.1:1"))
    worker.web.blueprints.apply(worker.web)  # what the web server does when it starts
    paths = {r.resource.canonical for r in worker.web.web_app.router.routes() if r.resource}
    assert not any(p.startswith(("/table", "/router")) for p in paths), sorted(paths)
    assert "/metrics" in paths
