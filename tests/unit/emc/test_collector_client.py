"""``emc sites add`` waits until the running collector accepts the site
(``emc.collector_client``), and says nothing when no collector runs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from emc.cli import _report_collector
from emc.collector_client import READY_WAIT_S, Readiness, wait_site_ready
from tests.conftest import free_port

NOT_YET = {"error": "site 'b' is not in the collector's copy", "site": "b", "ready": False}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _ask(answers: list[httpx.Response | Exception]) -> tuple[Readiness, list[httpx.Request]]:
    asked: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    clock = Clock()
    client = httpx.Client(base_url="http://collector", transport=httpx.MockTransport(handler))
    settings = Settings(admin_token="adm")  # type: ignore[arg-type]
    answer = wait_site_ready(settings, "b", client=client, clock=clock, sleep=clock.sleep)
    assert clock.now <= READY_WAIT_S
    return answer.state, asked


def test_waits_until_the_collector_knows_the_site() -> None:
    state, asked = _ask([httpx.Response(404, json=NOT_YET)] * 2 + [httpx.Response(200, json={})])
    assert state is Readiness.READY
    assert len(asked) == 3
    assert asked[0].url.path == "/sites/b/ready"
    assert asked[0].headers["authorization"] == "Bearer adm"


def test_gives_up_after_a_few_seconds() -> None:
    state, asked = _ask([httpx.Response(404, json=NOT_YET)])
    assert state is Readiness.NOT_YET and len(asked) > 3


def test_no_collector_and_an_old_collector_are_not_waited_for() -> None:
    state, asked = _ask([httpx.ConnectError("refused")])
    assert (state, len(asked)) == (Readiness.NOT_RUNNING, 1)
    old = httpx.Response(404, json={"error": "no route GET /sites/b/ready"})
    state, asked = _ask([old])
    assert (state, len(asked)) == (Readiness.NOT_RUNNING, 1)


def test_a_refusal_is_reported_not_retried() -> None:
    state, asked = _ask([httpx.Response(401, json={"error": "unknown token"})])
    assert (state, len(asked)) == (Readiness.REFUSED, 1)


def test_sites_add_prints_nothing_when_no_collector_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path, collector_port=free_port())  # nothing listens there
    _report_collector(settings, "b")
    assert capsys.readouterr() == ("", "")


def test_the_collector_url_of_a_wildcard_bind_is_loopback() -> None:
    def url(host: str) -> str:
        return Settings(collector_host=host, collector_port=8000).collector_url

    assert url("0.0.0.0") == "http://127.0.0.1:8000"
    assert url("::") == "http://[::1]:8000"
    assert url("10.0.0.5") == "http://10.0.0.5:8000"
