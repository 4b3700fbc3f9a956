"""Scale-out wiring (issue 15) without processes: the settings that place several stream
workers and local Kafka nodes, the children and ports ``emc up`` plans for them, the CLI's
``streams --worker``, ``kafka --nodes``, ``sink`` and ``api``, and the refusal of the split
processes under the embedded chDB (one process owns its folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.warehouse import Role, split_problem
from core.settings import Settings
from emc.cli import build_parser, main
from emc.ports import stack_listeners
from emc.supervisor import stream_workers


def test_one_stream_worker_is_todays_child() -> None:
    children = stream_workers(Settings(), ["py"], Path("/logs"))
    assert [(c.name, c.argv, c.log_path) for c in children] == [
        ("streams", ["py", "streams"], Path("/logs/streams.log"))
    ]


def test_several_stream_workers_are_numbered() -> None:
    children = stream_workers(Settings(streams_workers=3), ["py"], Path("/logs"))
    assert [c.name for c in children] == ["streams-1", "streams-2", "streams-3"]
    assert children[1].argv == ["py", "streams", "--worker", "2"]
    assert children[2].log_path == Path("/logs/streams-3.log")


def test_each_worker_has_its_own_web_port_and_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, streams_web_port=7000)
    assert [settings.streams_worker_web_port(n) for n in (1, 2, 3)] == [7000, 7001, 7002]
    # worker 1 keeps the folder of a single worker (an existing RocksDB store stays in use)
    assert settings.streams_worker_dir(1) == tmp_path / "streams"
    assert settings.streams_worker_dir(2) == tmp_path / "streams-2"


def test_local_nodes_are_all_bootstrap_servers() -> None:
    assert Settings().bootstrap_servers == "127.0.0.1:9092"
    three = Settings(kafka_nodes=3, kafka_port=19092)
    assert three.bootstrap_servers == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    # an external cluster is taken as configured
    assert Settings(kafka_nodes=3, kafka_bootstrap="k1:9092").bootstrap_servers == "k1:9092"


def test_up_checks_every_node_and_worker_port() -> None:
    settings = Settings(
        kafka_nodes=3, streams_workers=2, kafka_port=19092, kafka_controller_port=19093
    )
    by_name = {listener.name: listener.port for listener in stack_listeners(settings)}
    assert by_name["Kafka broker 3"] == 19096
    assert by_name["Kafka controller 3"] == 19097
    assert by_name["streams 1"] == settings.streams_web_port
    assert by_name["streams 2"] == settings.streams_web_port + 1
    assert len(set(by_name.values())) == len(by_name)  # no two listeners on one port


def test_parser_takes_the_scale_out_options() -> None:
    parser = build_parser()
    assert parser.parse_args(["streams"]).worker == 1
    assert parser.parse_args(["streams", "--worker", "2"]).worker == 2
    assert parser.parse_args(["kafka", "--nodes", "3"]).nodes == 3
    assert parser.parse_args(["kafka"]).nodes is None
    sink, api = parser.parse_args(["sink"]), parser.parse_args(["api"])
    assert sink.handler is api.handler  # the warehouse's, with its role from the command
    assert Role(sink.command) is Role.SINK and Role(api.command) is Role.API


@pytest.mark.parametrize("argv", [["streams", "--worker", "0"], ["kafka", "--nodes", "0"]])
def test_parser_refuses_a_number_below_one(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)


def test_split_roles_need_a_clickhouse_server() -> None:
    chdb = Settings()
    assert split_problem(chdb, Role.WAREHOUSE) is None
    for role in (Role.SINK, Role.API):
        problem = split_problem(chdb, role)
        assert problem is not None and "EMC_CLICKHOUSE_URL" in problem
        assert "emc warehouse" in problem
    server = Settings(clickhouse_url="http://ch:8123")
    assert split_problem(server, Role.SINK) is None
    assert split_problem(server, Role.API) is None


@pytest.mark.parametrize("command", ["sink", "api"])
def test_cli_refuses_split_processes_under_chdb(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EMC_CLICKHOUSE_URL", raising=False)
    assert main([command]) == 1
    err = capsys.readouterr().err
    assert f"`emc {command}`" in err and "EMC_CLICKHOUSE_URL" in err
