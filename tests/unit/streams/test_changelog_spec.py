"""``streams.app.changelog_spec`` must name and shape the visitor table's changelog exactly as
Faust declares it: the worker creates that topic before Faust starts, and a topic of another
name or partition count would be a second, unused topic while Faust created its own during the
group join again (the race the spec exists to remove)."""

from __future__ import annotations

import faust

from core.settings import Settings
from schemas.topics import HIT_PARTITIONS
from streams.app import VISITOR_TABLE, app_id, changelog_spec


def test_the_spec_is_fausts_changelog_topic() -> None:
    settings = Settings(consumer_group_prefix="g7", topic_prefix="t7.")
    app = faust.App(app_id(settings), broker="kafka://127.0.0.1:1")
    table = app.Table(VISITOR_TABLE, default=None, partitions=HIT_PARTITIONS, key_type=bytes)
    spec = changelog_spec(settings)
    topic = table.changelog_topic
    assert spec.name == topic.get_topic_name() == "g7-streams-visitors-changelog"
    assert spec.partitions == topic.partitions == HIT_PARTITIONS
    assert dict(spec.configs) == {"cleanup.policy": "compact"}
    assert topic.compacting is True
