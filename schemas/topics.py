"""Kafka topic names, partition counts and partition keys: the one place that names them.

Every hit of one visitor on one site must land in one partition, because the sessionizer keeps
that visitor's state in a Faust table co-partitioned with the topic. Every event of one dossier
lands in one partition so that its events stay in order per dossier.
"""

from __future__ import annotations

from dataclasses import dataclass

TOPIC_HITS_RAW = "emc.hits.raw"
TOPIC_DOSSIERS_RAW = "emc.dossiers.raw"
TOPIC_PAGEVIEWS = "emc.pageviews"
TOPIC_SESSIONS = "emc.sessions"
TOPIC_DOSSIERS = "emc.dossiers"
TOPIC_DEADLETTERS = "emc.deadletters"

#: Hits, pageviews and sessions share one partition count: the sessionizer's state table is
#: co-partitioned with the raw hits topic, and its outputs keep the same key.
HIT_PARTITIONS = 6
DOSSIER_PARTITIONS = 3
DEADLETTER_PARTITIONS = 1


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic the project creates: name, partition count and why it exists; ``configs``:
    topic settings beyond the replication ones (e.g. ``cleanup.policy=compact``)."""

    name: str
    partitions: int
    purpose: str
    configs: tuple[tuple[str, str], ...] = ()


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(TOPIC_HITS_RAW, HIT_PARTITIONS, "hits accepted by the collector, keyed by visitor"),
    TopicSpec(TOPIC_DOSSIERS_RAW, DOSSIER_PARTITIONS, "dossier events accepted by the collector"),
    TopicSpec(TOPIC_PAGEVIEWS, HIT_PARTITIONS, "enriched, sessionized hits (and bot hits)"),
    TopicSpec(TOPIC_SESSIONS, HIT_PARTITIONS, "session snapshots: retract previous, add current"),
    TopicSpec(TOPIC_DOSSIERS, DOSSIER_PARTITIONS, "normalised dossier events"),
    TopicSpec(TOPIC_DEADLETTERS, DEADLETTER_PARTITIONS, "what could not be processed, with why"),
)


def hit_key(site: str, visitor_key: str) -> bytes:
    """Partition key of a hit: site and the salt-independent visitor key."""
    return f"{site}|{visitor_key}".encode()


def dossier_key(site: str, dossier_code: str) -> bytes:
    """Partition key of a dossier event: the dossier is (site, dossier code)."""
    return f"{site}|{dossier_code}".encode()


@dataclass(frozen=True, slots=True)
class TopicNames:
    """The concrete topic names for one deployment: the base names behind a prefix
    (``EMC_TOPIC_PREFIX``), so several deployments or test runs can share one cluster."""

    prefix: str = ""

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def hits_raw(self) -> str:
        return self.name(TOPIC_HITS_RAW)

    @property
    def dossiers_raw(self) -> str:
        return self.name(TOPIC_DOSSIERS_RAW)

    @property
    def pageviews(self) -> str:
        return self.name(TOPIC_PAGEVIEWS)

    @property
    def sessions(self) -> str:
        return self.name(TOPIC_SESSIONS)

    @property
    def dossiers(self) -> str:
        return self.name(TOPIC_DOSSIERS)

    @property
    def deadletters(self) -> str:
        return self.name(TOPIC_DEADLETTERS)

    def specs(self) -> tuple[TopicSpec, ...]:
        """Every topic the project needs, with the prefix applied."""
        return tuple(TopicSpec(self.name(s.name), s.partitions, s.purpose) for s in TOPICS)
