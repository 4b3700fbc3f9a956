"""The environment of a stream worker started by a test: its own topic prefix and consumer
groups (so tests sharing the session's broker never read each other's messages), a free web
port, a data folder and GeoIP file of the test's, quiet logs — and the ``Settings`` it means."""

from __future__ import annotations

import uuid
from pathlib import Path

from core.settings import Settings
from tests.conftest import free_port


def worker_env(bootstrap: str, tag: str, data_dir: Path, geoip: Path) -> dict[str, str]:
    """``EMC_*`` variables for a worker; ``tag`` starts the topic and group names."""
    run = uuid.uuid4().hex[:8]
    return {
        "EMC_KAFKA_BOOTSTRAP": bootstrap,
        "EMC_TOPIC_PREFIX": f"{tag}{run}.",
        "EMC_CONSUMER_GROUP_PREFIX": f"{tag}{run}",
        "EMC_DATA_DIR": str(data_dir),
        "EMC_STREAMS_WEB_PORT": str(free_port()),
        "EMC_GEOIP_DB": str(geoip),
        "EMC_LOG_LEVEL": "WARNING",
    }


def settings_of(env: dict[str, str]) -> Settings:
    """The settings a process started with ``env`` reads."""
    return Settings(**{k[4:].lower(): v for k, v in env.items()})  # type: ignore[arg-type]
