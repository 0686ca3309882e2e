"""Bounded exponential backoff with an injected sleep."""

from __future__ import annotations

import pytest
from gatherarr._config import RetryPolicy
from gatherarr._port import AuthError, PermanentError, TargetError, TransientError
from gatherarr._retry import backoff_delay, call_with_retry

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.sleeps.append(delay)


def flaky(errors: list[TargetError], result: str = "ok"):  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    async def op() -> str:
        calls["n"] += 1
        if errors:
            raise errors.pop(0)
        return result

    return op, calls


def test_delays_double_and_are_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=5.0)
    assert [backoff_delay(policy=policy, attempt=n, retry_after=None) for n in range(1, 6)] == [
        1.0,
        2.0,
        4.0,
        5.0,
        5.0,
    ]


def test_retry_after_wins_but_is_bounded() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=30.0)
    assert backoff_delay(policy=policy, attempt=1, retry_after=7.0) == 7.0
    assert backoff_delay(policy=policy, attempt=1, retry_after=300.0) == 30.0
    assert backoff_delay(policy=policy, attempt=2, retry_after=0.0) == 2.0


async def test_transient_errors_are_retried_until_success() -> None:
    sleep = Recorder()
    op, calls = flaky([TransientError("503"), TransientError("429", retry_after=3.0)])
    seen: list[int] = []
    result = await call_with_retry(
        op,
        policy=RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=10.0),
        sleep=sleep,
        on_retry=lambda n, d, e: seen.append(n),
    )
    assert result == "ok"
    assert calls["n"] == 3
    assert sleep.sleeps == [0.5, 3.0]
    assert seen == [1, 2]


async def test_attempts_are_bounded() -> None:
    sleep = Recorder()
    op, calls = flaky([TransientError(str(i)) for i in range(10)])
    with pytest.raises(TransientError, match="2"):
        await call_with_retry(
            op, policy=RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=2.0), sleep=sleep
        )
    assert calls["n"] == 3
    assert sleep.sleeps == [1.0, 2.0]


@pytest.mark.parametrize("error", [AuthError("401"), PermanentError("400")])
async def test_permanent_errors_are_not_retried(error: TargetError) -> None:
    sleep = Recorder()
    op, calls = flaky([error])
    with pytest.raises(type(error)):
        await call_with_retry(op, policy=RetryPolicy(max_attempts=5), sleep=sleep)
    assert calls["n"] == 1
    assert sleep.sleeps == []


def test_error_summary_is_short_and_kinded() -> None:
    assert TransientError("boom").summary == "transient: boom"
    assert AuthError("nope").summary == "auth: nope"
    assert len(PermanentError("x" * 1000).summary) == 300
