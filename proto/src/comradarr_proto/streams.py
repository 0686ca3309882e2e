"""The two JetStream streams and what goes on each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A stream's name suffix, subject root and retention."""

    suffix: str
    subject_root: str
    retention: str  # "workqueue" or "limits"
    max_age_seconds: float
    description: str


COMMANDS_STREAM = StreamSpec(
    suffix="COMMANDS",
    subject_root="cmd",
    retention="workqueue",
    max_age_seconds=7 * 24 * 3600,
    description="Requests for work; each handled once by one replica.",
)
EVENTS_STREAM = StreamSpec(
    suffix="EVENTS",
    subject_root="evt",
    retention="limits",
    max_age_seconds=3 * 24 * 3600,
    description="Facts fanned out to every interested service.",
)


def stream_name(prefix: str, spec: StreamSpec) -> str:
    """JetStream stream names cannot hold dots; the prefix is upper-cased and joined by _."""
    return f"{prefix.upper().replace('.', '_').replace('-', '_')}_{spec.suffix}"
