"""``streams.app.produce``: every output reaches the producer as given; a refused delivery
stops the worker (fail-stop) instead of letting Faust commit the input without its outputs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams import app as streams_app
from streams.app import Outgoing, produce


class _Producer:
    """Records sends and hands out futures the test resolves."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def send(self, *args: Any) -> asyncio.Future[Any]:
        self.sent.append(args)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future


async def test_produce_sends_each_message_with_its_partition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stops: list[int] = []
    monkeypatch.setattr(streams_app, "_fail_stop", lambda: stops.append(1))
    producer = _Producer()
    messages = [Outgoing("pv", b"k", b"v1", 3), Outgoing("dl", None, b"v2")]
    await produce(producer, messages)
    assert producer.sent == [
        ("pv", b"k", b"v1", 3, None, None),
        ("dl", None, b"v2", None, None, None),
    ]
    for future in producer.futures:
        future.set_result("metadata")
    await asyncio.sleep(0)
    assert stops == []


async def test_refused_delivery_stops_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    stops: list[int] = []
    monkeypatch.setattr(streams_app, "_fail_stop", lambda: stops.append(1))
    producer = _Producer()
    await produce(producer, [Outgoing("pv", b"k", b"v", 0), Outgoing("pv", b"k", b"w", 0)])
    producer.futures[0].set_result("metadata")
    producer.futures[1].set_exception(RuntimeError("MessageSizeTooLarge"))
    await asyncio.sleep(0)
    assert stops == [1]
