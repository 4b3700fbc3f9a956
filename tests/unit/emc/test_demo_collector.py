"""The demo's history and live lines through the real collector app (in process, a fake
producer instead of Kafka): every line is accepted, ratings get their canonical name."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from core.settings import Settings
from emc.demo import DemoTraffic, matomo_request
from emc.demo_data import DEMO_SITES, DVC_MATOMO_ID, DVC_SITE
from ingest.app import create_app
from ingest.sites import SiteCache

ADMIN = {"Authorization": "Bearer adm", "Content-Type": "application/json"}
END_MS = 1_796_428_800_000  # 2026-12-05 07:00 in Vietnam


class _Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send_batch(self, topic: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        self.sent += [(topic, value) for _, value in items]

    async def ready(self) -> bool:
        return True


@pytest.fixture()
def collector(tmp_path: Path) -> Iterator[tuple[TestClient, _Producer]]:
    settings = Settings(admin_token="adm", secret_key="sk", data_dir=tmp_path, topic_prefix="p.")
    producer = _Producer()
    app = create_app(settings, producer=producer, sites=SiteCache.static(list(DEMO_SITES)))
    with TestClient(app) as client:
        yield client, producer


def _post(client: TestClient, path: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post(path, content=orjson.dumps(lines), headers=ADMIN)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def test_every_history_and_live_line_is_accepted(
    collector: tuple[TestClient, _Producer],
) -> None:
    client, producer = collector
    history = DemoTraffic(seed=4).history(END_MS, 3, 300)
    live = DemoTraffic(rate_per_s=40, seed=8)
    live_hits: list[dict[str, Any]] = []
    live_dossiers: list[dict[str, Any]] = []
    for second in range(120):
        hits, dossiers = live.tick(END_MS + second * 1000, 1.0)
        live_hits += hits
        live_dossiers += dossiers
    for path, lines in (
        ("/v1/hits", history.hits + live_hits),
        ("/v1/dossiers", history.dossiers + live_dossiers),
    ):
        for start in range(0, len(lines), 2000):
            body = _post(client, path, lines[start : start + 2000])
            assert body["rejected"] == []
            assert body["accepted"] == len(lines[start : start + 2000])
    names = {orjson.loads(value).get("name", "") for _, value in producer.sent}
    ratings = [name for name in names if name.startswith("rating")]
    assert ratings and all(name.count(":") == 2 for name in ratings)
    assert len(producer.sent) == sum(
        map(len, (history.hits, live_hits, history.dossiers, live_dossiers))
    )


def test_live_dvc_hits_go_through_the_emc_compatible_tracker(
    collector: tuple[TestClient, _Producer],
) -> None:
    """``_govaq``'s ``trackDVC(code, 'submit', dossier)`` arrives as ``dvc/submit/CODE/DOSSIER``
    at the hit's own time (``cdt`` with the bulk request's token)."""
    client, producer = collector
    live = DemoTraffic(rate_per_s=40, seed=8)
    hits = [h for s in range(300) for h in live.tick(END_MS + s * 1000, 1.0)[0]]
    dvc = [(h, matomo_request(h, DVC_MATOMO_ID)) for h in hits if h["site"] == DVC_SITE]
    sent = [(h, q) for h, q in dvc if q is not None]
    assert any(h["name"].startswith("dvc/submit/") for h, _ in sent if h["type"] == "event")
    response = client.post(
        "/matomo.php",
        content=orjson.dumps({"requests": [q for _, q in sent], "token_auth": "adm"}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["tracked"] == len(sent)
    got = [orjson.loads(value) for _, value in producer.sent]
    assert [(m["site"], m["ts"], m.get("name", "")) for m in got] == [
        (DVC_SITE, h["ts"], h.get("name", "")) for h, _ in sent
    ]
