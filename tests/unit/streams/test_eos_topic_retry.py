"""A topic declaration refused while the broker comes back is retried, not fatal."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import InvalidReplicationFactorError

from streams.eos import retry_while_not_ready


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def test_fenced_broker_is_waited_for() -> None:
    clock = _Clock()
    calls: list[int] = []

    async def attempt() -> None:
        calls.append(1)
        if len(calls) < 4:
            raise InvalidReplicationFactorError("All brokers are currently fenced")

    asyncio.run(retry_while_not_ready(attempt, "t", budget_s=60, sleep=clock.sleep, clock=clock))
    assert len(calls) == 4
    assert clock.pauses == [0.5, 1.0, 2.0]  # doubling


def test_gives_up_with_the_last_error_after_the_budget() -> None:
    clock = _Clock()
    calls: list[int] = []

    async def attempt() -> None:
        calls.append(1)
        raise InvalidReplicationFactorError(f"refused {len(calls)}")

    with pytest.raises(InvalidReplicationFactorError, match="refused"):
        asyncio.run(
            retry_while_not_ready(attempt, "t", budget_s=20, sleep=clock.sleep, clock=clock)
        )
    assert clock.now <= 20 and sum(clock.pauses) == clock.now
    assert max(clock.pauses) == 5.0  # capped pause
    assert len(calls) == len(clock.pauses) + 1


def test_cancellation_is_not_retried() -> None:
    async def attempt() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(retry_while_not_ready(attempt, "t", budget_s=60))
