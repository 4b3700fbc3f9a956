"""``emc up`` checks every port of the stack before it starts anything (``emc.ports``).

The pure check is driven with an injected probe; one test holds a real listening socket on a
free loopback port and shows that the message names the setting to change, and that
``run_stack`` then stops with exit code 2 before it starts (or downloads) anything.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import UserError
from core.settings import Settings
from emc import ports
from emc.ports import Listener, port_problems, stack_listeners
from tests.conftest import free_port


@pytest.fixture()
def held() -> Iterator[int]:
    """A loopback port that something else is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _settings(tmp_path: Path, **over: object) -> Settings:
    """Every port of the stack on a free loopback port, unless ``over`` says otherwise."""
    base: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "collector_port": free_port(),
        "api_port": free_port(),
        "streams_web_port": free_port(),
        "kafka_port": free_port(),
        "kafka_controller_port": free_port(),
    }
    return Settings(**{**base, **over})  # type: ignore[arg-type]


def test_a_real_listening_socket_is_reported_naming_the_setting(tmp_path: Path, held: int) -> None:
    problems = port_problems(stack_listeners(_settings(tmp_path, collector_port=held)))
    assert problems == [
        f"port {held} (collector, EMC_COLLECTOR_PORT) is in use: "
        "stop what uses it or set EMC_COLLECTOR_PORT"
    ]


def test_every_port_of_the_stack_is_checked(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    listeners = stack_listeners(settings)
    assert {(item.setting, item.port) for item in listeners} == {
        ("EMC_KAFKA_PORT", settings.kafka_port),
        ("EMC_KAFKA_CONTROLLER_PORT", settings.kafka_controller_port),
        ("EMC_API_PORT", settings.api_port),
        ("EMC_STREAMS_WEB_PORT", settings.streams_web_port),
        ("EMC_COLLECTOR_PORT", settings.collector_port),
    }
    taken = {settings.kafka_controller_port, settings.streams_web_port}

    def probe(host: str, port: int) -> OSError | None:
        return OSError(errno.EADDRINUSE, "Address already in use") if port in taken else None

    assert port_problems(listeners, probe) == [
        f"port {settings.kafka_controller_port} (Kafka controller, EMC_KAFKA_CONTROLLER_PORT) "
        "is in use: stop what uses it or set EMC_KAFKA_CONTROLLER_PORT",
        f"port {settings.streams_web_port} (streams, EMC_STREAMS_WEB_PORT) is in use: "
        "stop what uses it or set EMC_STREAMS_WEB_PORT",
    ]


def test_an_external_kafka_needs_no_local_ports(tmp_path: Path) -> None:
    settings = _settings(tmp_path, kafka_bootstrap="kafka-1:9092")
    names = [item.setting for item in stack_listeners(settings)]
    assert names == ["EMC_API_PORT", "EMC_STREAMS_WEB_PORT", "EMC_COLLECTOR_PORT"]


def test_two_of_our_own_listeners_on_one_port_are_reported_once() -> None:
    listeners = [
        Listener("warehouse", "EMC_API_PORT", "127.0.0.1", 8000, "EMC_API_HOST"),
        Listener("collector", "EMC_COLLECTOR_PORT", "0.0.0.0", 8000, "EMC_COLLECTOR_HOST"),
        Listener("other", "EMC_X_PORT", "10.0.0.1", 9000),
        Listener("another", "EMC_Y_PORT", "10.0.0.2", 9000),  # two specific addresses: fine
    ]
    assert port_problems(listeners, lambda host, port: None) == [
        "port 8000 is set for both warehouse (EMC_API_PORT) and collector "
        "(EMC_COLLECTOR_PORT): set EMC_COLLECTOR_PORT to another port"
    ]


def test_other_bind_errors_name_the_port_and_the_host_settings() -> None:
    listener = Listener("collector", "EMC_COLLECTOR_PORT", "0.0.0.0", 80, "EMC_COLLECTOR_HOST")
    problems = port_problems(
        [listener], lambda host, port: OSError(errno.EACCES, "Permission denied")
    )
    assert problems == [
        "port 80 (collector, EMC_COLLECTOR_PORT) cannot be bound on 0.0.0.0: Permission denied; "
        "set EMC_COLLECTOR_PORT or EMC_COLLECTOR_HOST"
    ]


def test_the_real_probe_binds_free_ports_and_refuses_taken_ones(held: int) -> None:
    assert ports.bind_probe("127.0.0.1", free_port()) is None
    error = ports.bind_probe("127.0.0.1", held)
    assert error is not None and error.errno == errno.EADDRINUSE
    unresolvable = ports.bind_probe("no-such-host.invalid", 8000)
    assert unresolvable is not None and "does not resolve" in str(unresolvable)


def test_emc_up_stops_with_code_2_before_starting_anything(
    tmp_path: Path,
    held: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from emc import geoip_fetch
    from emc.supervisor import run_stack

    def no_start(*args: object, **kwargs: object) -> None:
        raise UserError("the stack was started although a port is taken")

    monkeypatch.setattr(geoip_fetch, "ensure_geoip", no_start)  # the first step of a start
    settings = _settings(tmp_path, api_port=held)
    assert run_stack(settings, demo=False) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"[emc] port {held} (warehouse, EMC_API_PORT) is in use: "
        "stop what uses it or set EMC_API_PORT"
    ]
    assert not settings.data_dir.exists()  # nothing was created, let alone started
