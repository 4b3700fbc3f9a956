"""The collector's answers that several endpoints share: a JSON body, a refused request
(counted by reason and status) and the 503 of an unavailable Kafka.

Why a module: the Starlette routes (``ingest.app``) and the beacon's thin ASGI path
(``ingest.beacon``) must answer a refusal byte for byte alike.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response

from ingest.counters import Counters
from ingest.producer import KafkaUnavailable
from ingest.requests import RequestError

log = logging.getLogger("ingest.app")

#: Every answer of ``/collect``: browsers post from any site.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def refused(
    counters: Counters, exc: RequestError, headers: dict[str, str] | None = None
) -> Response:
    """The JSON error of a refused request; counts its reason and status."""
    counters.reject(exc.reason)
    counters.request(exc.status)
    return json_response(exc.status, exc.body(), headers)


def unavailable(
    counters: Counters,
    retry_after_s: int,
    exc: KafkaUnavailable,
    headers: dict[str, str] | None = None,
) -> Response:
    """503 with ``Retry-After``: Kafka did not take the request, nothing was accepted."""
    counters.reject("kafka_unavailable")
    counters.request(503)
    log.warning("answering 503: %s", exc)
    return json_response(
        503,
        {
            "error": "Kafka unavailable, nothing was accepted; retry later",
            "reason": "kafka_unavailable",
            "retry_after_s": retry_after_s,
        },
        {**(headers or {}), "Retry-After": str(retry_after_s)},
    )
