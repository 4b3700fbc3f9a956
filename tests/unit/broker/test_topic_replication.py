"""Replication of the topics OpenEMC creates (``broker.topics.replication``): 3 replicas and
``min.insync.replicas=2`` once the cluster has 3 brokers, so an ``acks=all`` hit survives the
loss of any one broker; settings override; impossible settings are refused by name."""

from __future__ import annotations

import pytest

from broker.topics import TopicAdminError, replication


@pytest.mark.parametrize(
    ("brokers", "expected"), [(1, (1, 1)), (2, (2, 1)), (3, (3, 2)), (5, (3, 2))]
)
def test_default_replication_follows_the_brokers(brokers: int, expected: tuple[int, int]) -> None:
    assert replication(brokers) == expected


def test_settings_override() -> None:
    assert replication(5, 5) == (5, 2)
    assert replication(5, 5, 3) == (5, 3)
    assert replication(3, 2) == (2, 1)
    assert replication(3, None, 1) == (3, 1)


def test_impossible_settings_name_the_variable() -> None:
    with pytest.raises(TopicAdminError, match="EMC_TOPIC_REPLICATION_FACTOR=3"):
        replication(1, 3)
    with pytest.raises(TopicAdminError, match="EMC_TOPIC_MIN_INSYNC_REPLICAS=3"):
        replication(3, 2, 3)
