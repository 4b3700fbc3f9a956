"""Topic administration: wait for a broker, create the project's topics, read partition counts.

Idempotent by design: ``ensure_topics`` creates only what is missing and treats "already
exists" (another process won the race) as success, so every process may call it at start-up.
It never changes an existing topic: a topic with fewer partitions than its spec is reported
by ``describe_topics`` and left for an operator, because adding partitions moves keys.

Replication (``replication``, pure): by default a topic gets min(3, brokers) replicas and,
with 3 or more, ``min.insync.replicas=2``: the collector's ``acks=all`` produce is then
acknowledged only once two brokers hold the hit, so losing one broker (the leader of a
partition included) loses no acknowledged hit, and the partition stays writable.
``EMC_TOPIC_REPLICATION_FACTOR`` / ``EMC_TOPIC_MIN_INSYNC_REPLICAS`` override both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from core.errors import UserError
from core.settings import Settings
from schemas.topics import TopicSpec

log = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS = 36
_MAX_REPLICATION_FACTOR = 3


class TopicAdminError(UserError, RuntimeError):
    """The broker refused to create a topic; the message names the topic and the reason."""


@contextlib.asynccontextmanager
async def _admin(bootstrap: str, request_timeout_ms: int = 30_000) -> AsyncIterator[Any]:
    from aiokafka.admin import AIOKafkaAdminClient

    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=request_timeout_ms)
    try:
        await client.start()
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.close()


async def wait_for_kafka(bootstrap: str, timeout_s: float) -> None:
    """Return once ``bootstrap`` answers a metadata request listing a broker.

    Raises ``TimeoutError`` naming the address and the settings that choose it.
    """
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while True:
        remaining_s = deadline - time.monotonic()
        if remaining_s <= 0:
            raise TimeoutError(
                f"Kafka at {bootstrap} did not answer within {timeout_s:g} s ({last_error}); "
                "start it (`emc kafka` or `make run`) or point EMC_KAFKA_BOOTSTRAP (external "
                "cluster) or EMC_KAFKA_PORT (local broker) at a running broker"
            )
        attempt_s = max(0.5, min(5.0, remaining_s))
        try:
            async with asyncio.timeout(attempt_s):
                async with _admin(bootstrap, int(attempt_s * 1000)) as client:
                    cluster = await client.describe_cluster()
            if cluster.get("brokers"):
                return
            last_error = "no broker registered yet"
        except Exception as exc:
            last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


def replication(
    brokers: int, replication_factor: int | None = None, min_insync_replicas: int | None = None
) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) for new topics on ``brokers`` brokers: the
    settings when given, else min(3, brokers) and 2 from a factor of 3 up (1 below). Raises
    ``TopicAdminError`` naming the setting when the cluster cannot honour it."""
    rf = replication_factor or max(1, min(_MAX_REPLICATION_FACTOR, brokers))
    if rf > brokers:
        raise TopicAdminError(
            f"EMC_TOPIC_REPLICATION_FACTOR={rf} but the cluster has {brokers} broker(s): "
            "lower it or add brokers"
        )
    min_isr = min_insync_replicas or (2 if rf >= _MAX_REPLICATION_FACTOR else 1)
    if min_isr > rf:
        raise TopicAdminError(
            f"EMC_TOPIC_MIN_INSYNC_REPLICAS={min_isr} is more than the replication factor "
            f"{rf}: no acks=all write could succeed"
        )
    return rf, min_isr


async def ensure_topics(
    bootstrap: str,
    specs: Sequence[TopicSpec],
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
) -> list[str]:
    """Create the topics of ``specs`` that do not exist yet; return the names created.

    Replication as ``replication`` chooses it for the brokers the cluster lists. Raises
    ``TopicAdminError`` naming the topic when the broker refuses one for another reason than
    "already exists".
    """
    async with _admin(bootstrap) as client:
        from aiokafka.admin import NewTopic

        cluster = await client.describe_cluster()
        brokers = len(cluster.get("brokers") or ())
        if brokers == 0:
            raise TopicAdminError(f"Kafka at {bootstrap} lists no broker: is it still starting?")
        rf, min_isr = replication(brokers, replication_factor, min_insync_replicas)
        existing = set(await client.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if not missing:
            return []
        response = await client.create_topics(
            [
                NewTopic(
                    spec.name,
                    spec.partitions,
                    rf,
                    topic_configs={"min.insync.replicas": str(min_isr), **dict(spec.configs)},
                )
                for spec in missing
            ]
        )
        created: list[str] = []
        failures: list[str] = []
        for name, code, *rest in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != _TOPIC_ALREADY_EXISTS:
                message = rest[0] if rest and rest[0] else f"error code {code}"
                failures.append(f"{name}: {message}")
        if failures:
            raise TopicAdminError(
                f"Kafka at {bootstrap} refused to create topics (replication factor {rf}): "
                + "; ".join(failures)
            )
        order = {spec.name: i for i, spec in enumerate(specs)}
        return sorted(created, key=order.__getitem__)


async def ensure_project_topics(settings: Settings, timeout_s: float = 60.0) -> list[str]:
    """``ensure_topics`` for the project's topics with the replication settings, retried for
    up to ``timeout_s`` while Kafka fails with a transient error (with several brokers a dead
    one stays in the metadata for seconds and a request may go to it)."""
    from aiokafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await ensure_topics(
                settings.bootstrap_servers,
                settings.topics.specs(),
                settings.topic_replication_factor,
                settings.topic_min_insync_replicas,
            )
        except (KafkaError, OSError) as exc:
            if time.monotonic() >= deadline:
                raise
            log.info("creating topics failed (%s); retrying", exc)
            await asyncio.sleep(1.0)


async def describe_topics(bootstrap: str, names: Sequence[str]) -> dict[str, int]:
    """Partition counts of the ``names`` that exist (missing topics are left out)."""
    if not names:
        return {}
    async with _admin(bootstrap) as client:
        existing = set(await client.list_topics())
        wanted = [name for name in names if name in existing]
        if not wanted:
            return {}
        topics = await client.describe_topics(wanted)
    return {t["topic"]: len(t["partitions"]) for t in topics if t.get("error_code", 0) == 0}
