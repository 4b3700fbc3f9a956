"""``/metrics`` of the collector (in-process, fake producer) and the metric catalogue."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from core import metrics
from core.settings import Settings
from ingest.app import create_app
from ingest.sites import SiteCache
from schemas.sites import Site, SiteType
from tests.unit.ingest.test_app import FakeProducer


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_every_metric_name_is_declared_once_with_help() -> None:
    names = [s.name for s in metrics.SPECS]
    assert len(names) == len(set(names))
    assert all(s.help and s.name.startswith("emc_") for s in metrics.SPECS)


def test_collector_metrics_count_requests_hits_and_rejections(tmp_path: Path) -> None:
    producer = FakeProducer()
    site = Site(id="a", name="A", type=SiteType.PORTAL, domains=("a.gov.vn",))
    app = create_app(
        Settings(admin_token="adm", secret_key="sk", data_dir=tmp_path),
        producer=producer,
        sites=SiteCache.static([site]),
    )
    with TestClient(app) as client:
        ok = b'{"site":"a","url":"https://a.gov.vn/","ts":1772326800000,"ip":"1.2.3.4","ua":"x","event_id":"1"}'
        bad = b'{"site":"zz","url":"https://a.gov.vn/","ts":1772326800000,"ip":"1.2.3.4","ua":"x"}'
        auth = {"Authorization": "Bearer adm", "Content-Type": "application/x-ndjson"}
        assert client.post("/v1/hits", content=ok + b"\n" + bad, headers=auth).status_code == 202
        assert client.post("/v1/hits", content=b"{", headers=auth).status_code == 422
        producer.down = True
        assert client.post("/v1/hits", content=ok, headers=auth).status_code == 503
        assert client.get("/nowhere/x1").status_code == 404
        assert client.get("/nowhere/x2").status_code == 404
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    s = _samples(response.text)
    assert s[("emc_http_requests_total", (("endpoint", "/v1/hits"), ("status", "202")))] == 1
    assert s[("emc_http_requests_total", (("endpoint", "/v1/hits"), ("status", "422")))] == 1
    assert s[("emc_http_requests_total", (("endpoint", "/v1/hits"), ("status", "503")))] == 1
    # unknown paths share one label value
    assert s[("emc_http_requests_total", (("endpoint", "other"), ("status", "404")))] == 2
    assert s[("emc_http_request_duration_seconds_count", (("endpoint", "/v1/hits"),))] == 3
    assert s[("emc_collector_accepted_total", (("kind", "hits"),))] == 1
    assert s[("emc_collector_rejected_total", (("reason", "unknown_site"),))] == 1
    assert s[("emc_collector_rejected_total", (("reason", "invalid_json"),))] == 1
    assert s[("emc_collector_rejected_total", (("reason", "kafka_unavailable"),))] == 1
    assert s[("process_resident_memory_bytes", ())] > 0


def test_templated_endpoints_are_one_label() -> None:
    mw = metrics.HttpMetrics(None, metrics.new_registry(), ["/healthz", "/api/v1/sites/{site_id}"])
    assert mw.endpoint("/healthz") == "/healthz"
    assert mw.endpoint("/api/v1/sites/hanoi") == "/api/v1/sites/{site_id}"
    assert mw.endpoint("/api/v1/sites/hanoi/x") == "other"


def test_stream_and_sink_counters_are_bridged() -> None:
    registry = metrics.new_registry()
    streams = SimpleNamespace(
        messages=Counter(hits=5),
        step_calls=Counter(geoip=5),
        step_ns=Counter(geoip=2_000_000_000),
        dropped=Counter(drop_private=1),
        flagged=Counter(bot_ua=2),
        sessionizer=Counter(applied=3, duplicate=1),
        dead_letters=Counter({"streams.hits/validation": 2}),
    )
    metrics.bridge(registry, lambda: metrics.stream_families(streams, lambda: 7, lambda: 3))
    body, _ = metrics.render(registry)
    s = _samples(body.decode())
    assert s[("emc_stream_step_seconds_total", (("step", "geoip"),))] == 2.0
    assert s[("emc_stream_sessionizer_total", (("outcome", "duplicate"),))] == 1
    assert s[("emc_dead_letters_total", (("reason", "validation"), ("stage", "streams.hits")))] == 2
    assert s[("emc_stream_visitor_states", ())] == 7
    assert s[("emc_stream_assigned_partitions", ())] == 3

    sink = SimpleNamespace(
        rows_written={"pageviews": 9, "sessions": 4},
        batches_written=2,
        messages_consumed=13,
        skipped_messages=1,
        insert_failures=0,
        replayed_batches=3,
        dead_letter_reasons=Counter({"sink.pageviews/bad_value": 1}),
        running=True,
    )
    registry = metrics.new_registry()
    metrics.bridge(registry, lambda: metrics.sink_families(sink))
    metrics.SinkMetrics(registry).observe("pageviews", 9, 0.02)
    s = _samples(metrics.render(registry)[0].decode())
    assert s[("emc_sink_rows_written_total", (("table", "pageviews"),))] == 9
    assert s[("emc_sink_running", ())] == 1
    assert s[("emc_sink_replayed_batches_total", ())] == 3
    assert s[("emc_sink_batch_rows_sum", (("table", "pageviews"),))] == 9
    assert s[("emc_sink_insert_duration_seconds_count", (("table", "pageviews"),))] == 1


def test_alert_rules_and_dashboard_use_only_declared_metrics() -> None:
    import re

    root = Path(__file__).resolve().parents[3] / "deploy"
    text = (root / "prometheus" / "alerts.yml").read_text() + (
        root / "grafana" / "openemc-ingest.json"
    ).read_text()
    used = set(re.findall(r"\bemc_[a-z_]+", text))
    declared = set()
    for spec in metrics.SPECS:
        declared |= {spec.name, f"{spec.name}_total"}
        declared |= {f"{spec.name}_{s}" for s in ("bucket", "sum", "count")}
    assert used, "no metric found in the deploy files"
    assert used <= declared, sorted(used - declared)


def test_a_tally_flushes_the_numbers_direct_calls_would_have_written() -> None:
    """The beacon's hot path tallies (``metrics.Tally``); once flushed, counters and histogram
    buckets, sum and count equal those of the same calls made directly, edges included (a
    value equal to a bucket bound belongs to that bucket, le="...")."""
    direct, tallied = metrics.new_registry(), metrics.new_registry()
    observed = [0.0, 0.001, 0.0025, 0.0026, 0.1, 0.25, 3.0, 1e9]
    recorders = [metrics.HttpRecorder(r, ["/collect"]) for r in (direct, tallied)]
    tally = metrics.Tally()
    for seconds in observed:
        recorders[0].observe("/collect", 202, seconds)
        recorders[1].observe_later(tally, "/collect", 202, seconds)
    recorders[0].observe("/collect", 400, 0.01)
    recorders[1].observe_later(tally, "/collect", 400, 0.01)

    def numbers(registry: Any) -> dict[Any, float]:
        samples = _samples(metrics.render(registry)[0].decode())
        return {k: v for k, v in samples.items() if not k[0].endswith("_created")}

    empty = numbers(tallied)
    assert empty[("emc_http_requests_total", (("endpoint", "/collect"), ("status", "202")))] == 0
    tally.flush()
    assert numbers(tallied) == numbers(direct)
    tally.flush()  # nothing new: nothing added twice
    assert numbers(tallied) == numbers(direct)
