"""The local broker's configuration files are pure functions of ports and folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import UserError
from emc.kafka_local import (
    LocalKafka,
    LocalKafkaError,
    ensure_jars,
    java_command,
    render_log4j2_properties,
    render_server_properties,
)


def _parse(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert key not in props, f"duplicate key {key}"
            props[key] = value
    return props


def test_server_properties_single_node_kraft() -> None:
    props = _parse(render_server_properties(19092, 19093, Path("/data/k/log")))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert "controller.quorum.voters" not in props
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == "/data/k/log"


def test_server_properties_fit_one_node() -> None:
    props = _parse(render_server_properties(1, 2, Path("/x")))
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["offsets.topic.num.partitions"] == "10"
    # a restart after a crash waits for the old incarnation's session to expire
    assert int(props["broker.heartbeat.interval.ms"]) * 4 < int(props["broker.session.timeout.ms"])
    assert int(props["broker.session.timeout.ms"]) <= 5000


def test_log4j2_properties_route_to_kafka_logs_dir() -> None:
    text = render_log4j2_properties()
    props = _parse(text.replace(" = ", "="))
    assert props["appender.file.fileName"] == "${sys:kafka.logs.dir}/server.log"
    assert props["rootLogger.level"] == "info"
    assert props["appender.console.filter.threshold.level"] == "warn"
    refs = {v for k, v in props.items() if k.startswith("rootLogger.appenderRef.")}
    names = {v for k, v in props.items() if k.startswith("appender.") and k.endswith(".name")}
    assert refs == names == {"console", "file"}


def test_java_command_shape() -> None:
    cmd = java_command(
        "java", Path("/libs"), "384m", Path("/d/log4j2.properties"), Path("/d/logs"), "kafka.Kafka"
    )
    assert cmd[:4] == ["java", "-Xmx384m", "-Xms384m", "-XX:+UseG1GC"]
    assert "-Dlog4j2.configurationFile=/d/log4j2.properties" in cmd
    assert "-Dkafka.logs.dir=/d/logs" in cmd
    assert cmd[-3:] == ["-cp", "/libs/*", "kafka.Kafka"]


def test_bootstrap_and_stop_before_start(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path / "libs", tmp_path / "data", port=12345, controller_port=12346)
    assert kafka.bootstrap == "127.0.0.1:12345"
    assert not kafka.is_running()
    kafka.stop()  # safe before start
    kafka.stop()


def test_start_without_jars_names_the_fix(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path / "libs", tmp_path / "data", port=12345, controller_port=12346)
    with pytest.raises(LocalKafkaError, match="make jars") as raised:
        kafka.start(timeout_s=1)
    assert isinstance(raised.value, UserError)  # the CLI prints it as one line


def test_ensure_jars_uses_the_cache_when_complete(tmp_path: Path) -> None:
    libs = tmp_path / "kafka" / "libs"
    libs.mkdir(parents=True)
    (libs / "kafka_2.13-4.1.1.jar").write_bytes(b"")
    assert ensure_jars(tmp_path) == libs


def test_ensure_jars_names_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("emc.kafka_local.shutil.which", lambda _name: None)
    with pytest.raises(RuntimeError, match=r"mvn and java .*install Java 17\+ and Apache Maven"):
        ensure_jars(tmp_path)
    assert not (tmp_path / "kafka" / "libs").exists()


def test_server_properties_node_of_a_three_node_quorum() -> None:
    """Node 2 of 3: a static quorum of every node's controller, 3 replicas of the internal
    topics, and 2 in sync for acks=all (the broker default, so Faust's topics get it too)."""
    voters = [(1, 19093), (2, 19095), (3, 19097)]
    props = _parse(render_server_properties(19094, 19095, Path("/k/node-2/log"), 2, voters))
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == (
        "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    )
    assert "controller.quorum.bootstrap.servers" not in props
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ):
        assert props[key] == "3", key
    assert props["min.insync.replicas"] == "2"
    assert props["transaction.state.log.min.isr"] == "2"


def test_cluster_nodes_are_laid_out_apart(tmp_path: Path) -> None:
    from emc.kafka_local import LocalKafkaCluster, node_ports

    assert node_ports(9092, 9093, 3) == [(9092, 9093), (9094, 9095), (9096, 9097)]
    cluster = LocalKafkaCluster(tmp_path / "libs", tmp_path / "k", 9092, 9093, nodes=3)
    assert cluster.bootstrap == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert [n.data_dir for n in cluster.nodes] == [
        (tmp_path / "k" / f"node-{i}").resolve() for i in (1, 2, 3)
    ]
    assert [n.node_id for n in cluster.nodes] == [1, 2, 3]
    assert cluster.node(3).voters == ((1, 9093), (2, 9095), (3, 9097))
    # one node is today's broker, in today's folder
    single = LocalKafkaCluster(tmp_path / "libs", tmp_path / "one", 9092, 9093)
    assert [n.data_dir for n in single.nodes] == [(tmp_path / "one").resolve()]
    assert single.node(1).voters == ()
