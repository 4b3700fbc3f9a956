"""Session fixtures: one real Kafka broker and one real ClickHouse engine per test session.

Mode is chosen from the environment, the same tests run in every mode:
- ``EMC_TEST_KAFKA_BOOTSTRAP`` set: use that external broker;
- else, a Docker engine answering: testcontainers' Kafka;
- else: the project's local broker from the official jars (``emc.kafka_local``).
ClickHouse: ``EMC_TEST_CLICKHOUSE_URL`` (a server) else embedded chDB in a temp folder. chDB
allows one data folder per process, so tests share one engine and each gets its own database.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def test_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emc")


@pytest.fixture(scope="session")
def kafka_bootstrap(test_root: Path) -> Iterator[str]:
    """Bootstrap servers of a real Kafka broker for the whole session."""
    external = os.environ.get("EMC_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    if _docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    from emc.kafka_local import LocalKafka, ensure_jars

    settings = Settings()
    kafka = LocalKafka(
        libs_dir=ensure_jars(settings.cache_dir),
        data_dir=test_root / "kafka",
        port=free_port(),
        controller_port=free_port(),
        heap="512m",
        java_bin=settings.java_bin,
    )
    kafka.start(timeout_s=90)
    try:
        yield kafka.bootstrap
    finally:
        kafka.stop()


@pytest.fixture(scope="session")
def local_kafka_factory(test_root: Path) -> Any:
    """Start an extra local broker that a test may stop and restart (outage tests)."""
    from emc.kafka_local import LocalKafka, ensure_jars

    started: list[Any] = []

    def make() -> Any:
        settings = Settings()
        kafka = LocalKafka(
            libs_dir=ensure_jars(settings.cache_dir),
            data_dir=test_root / f"kafka-{uuid.uuid4().hex[:8]}",
            port=free_port(),
            controller_port=free_port(),
            heap="384m",
            java_bin=settings.java_bin,
        )
        started.append(kafka)
        return kafka

    yield make
    for kafka in started:
        kafka.stop()


@pytest.fixture(scope="session")
def clickhouse_engine(test_root: Path) -> Any:
    """One ClickHouse client for the session (chDB unless EMC_TEST_CLICKHOUSE_URL is set)."""
    from clickhouse.client import connect

    return connect(
        url=os.environ.get("EMC_TEST_CLICKHOUSE_URL"),
        chdb_path=test_root / "chdb",
        database="default",
    )


@pytest.fixture()
def ch_database(clickhouse_engine: Any) -> Iterator[str]:
    """A fresh, migrated database for one test; dropped afterwards."""
    from clickhouse.migrate import migrate

    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    migrate(clickhouse_engine, name)
    try:
        yield name
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest.fixture()
def topic_prefix() -> str:
    """A unique prefix so tests sharing the session broker never see each other's messages."""
    return f"t{uuid.uuid4().hex[:8]}."
