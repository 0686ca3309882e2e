"""Bounded exponential backoff for transient target failures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gatherarr._config import RetryPolicy
from gatherarr._port import TargetError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


def backoff_delay(*, policy: RetryPolicy, attempt: int, retry_after: float | None) -> float:
    """Delay before retry number ``attempt`` (1-based); Retry-After wins but stays bounded."""
    delay = policy.base_delay * float(2 ** (attempt - 1))
    if retry_after is not None and retry_after > 0:
        delay = retry_after
    return max(0.0, min(delay, policy.max_delay))


async def call_with_retry(
    operation: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[int, float, TargetError], None] | None = None,
) -> T:
    """Run ``operation``, retrying only transient TargetErrors up to the policy's attempts."""
    attempt = 1
    while True:
        try:
            return await operation()
        except TargetError as exc:
            if not exc.transient or attempt >= policy.max_attempts:
                raise
            delay = backoff_delay(policy=policy, attempt=attempt, retry_after=exc.retry_after)
            if on_retry is not None:
                on_retry(attempt, delay, exc)
            await sleep(delay)
            attempt += 1
