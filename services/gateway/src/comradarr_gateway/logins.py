"""Who may try a password now: the brute-force policy, without handing anyone a lockout.

A (username, address) pair and an address each lock after their thresholds. A username's
failures across addresses only delay attempts from addresses that already failed, so a
correct password from an address without failures always gets in: nobody can lock the
owner out by guessing from elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .config import GatewaySettings
from .repo import LoginFailures


@dataclass(frozen=True, slots=True)
class Wait:
    """How long an attempt must wait, and the message saying why."""

    seconds: float
    why: str


def _left(until: datetime | None, now: datetime) -> float:
    return max(0.0, (until - now).total_seconds()) if until is not None else 0.0


def account_delay(failures: int, settings: GatewaySettings) -> float:
    """Seconds between attempts on a username with this many failures across addresses."""
    over = failures - settings.login_max_failures
    if over < 0:
        return 0.0
    return float(min(settings.login_delay_max_seconds, 2 ** min(over, 30)))


def wait_for(f: LoginFailures, *, now: datetime, settings: GatewaySettings) -> Wait | None:
    """None when the attempt may go ahead, else how long it must wait."""
    lock = max(_left(f.pair_locked_until, now), _left(f.ip_locked_until, now))
    if lock > 0:
        return Wait(lock, "too many failed logins from this address")
    dirty = f.pair_failures > 0 or f.ip_failures > 0
    if dirty and f.user_last_failed_at is not None:
        gap = timedelta(seconds=account_delay(f.user_failures, settings))
        left = _left(f.user_last_failed_at + gap, now)
        if left > 0:
            return Wait(left, "too many failed logins for this account")
    return None
