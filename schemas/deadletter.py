"""The dead-letter contract: what could not be processed, where, and why."""

from __future__ import annotations

from pydantic import BaseModel

from schemas.common import INTERNAL


class DeadLetter(BaseModel):
    """One message on ``emc.deadletters``. ``payload`` is the original message value, decoded
    as UTF-8 with replacement (``payload_b64`` holds the exact bytes when they were not valid
    UTF-8) so it can be read, fixed and replayed to ``source_topic``."""

    model_config = INTERNAL

    stage: str  # e.g. "streams.enrich", "streams.dossiers", "sink.pageviews"
    reason: str  # short machine-readable reason, e.g. "invalid_json", "validation"
    detail: str  # human-readable message naming the field
    source_topic: str
    partition: int = -1
    offset: int = -1
    key: str = ""
    payload: str
    payload_b64: str = ""
    failed_ms: int
