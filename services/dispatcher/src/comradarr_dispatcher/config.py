"""Dispatcher tuning (not throttle limits: those come from the connector's profile)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field


def _replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, kw_only=True)
class DispatcherConfig:
    """How often to look, poll and prune, and how season packs are chosen."""

    # Longest sleep between looks at the queue (a wake-up or a due slot ends it sooner).
    tick_seconds: float = 2.0
    poll_interval_seconds: float = 2.0
    # Commands of a connector that finish within this many seconds of each other are judged
    # (found or not) with one history request: at a high rate one request serves many.
    judge_wait_seconds: float = 1.0
    # A command still running after this is recorded as a timeout.
    command_max_wait_seconds: float = 1800.0
    # A replica that stops renewing its lease loses its commands to another replica.
    lease_seconds: float = 60.0
    # How many eligible entries one look reads per connector (the rest stay in the database).
    buffer_size: int = 100
    # A look's entries serve this replica's next claims of that connector for this long
    # (at a high rate most claims then read nothing). Items queued, paused or re-ranked
    # through another replica are seen within it; this replica's own wake-ups (items
    # queued, queue control) drop it at once.
    buffer_max_age_seconds: float = 1.0
    # After a send failed without an answer (network), the items wait this long.
    send_failure_delay_seconds: float = 300.0
    replica: str = field(default_factory=_replica_id)
