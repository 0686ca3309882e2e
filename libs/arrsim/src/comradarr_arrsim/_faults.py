"""Fault injection: switchable at run time from Python or over ``/__sim/faults``."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Literal

FaultKind = Literal["status", "slow", "drop", "malformed", "library_change"]
_KINDS: tuple[str, ...] = ("status", "slow", "drop", "malformed", "library_change")


@dataclasses.dataclass(kw_only=True)
class Fault:
    """One injected misbehaviour.

    - ``status``: answer ``status`` (401, 404, 429 with ``retry_after``, 500, 503, ...)
    - ``slow``: wait ``delay`` seconds before answering (to run past a client timeout)
    - ``drop``: send the headers and part of the body, then close the connection
    - ``malformed``: replace a ``share`` of the records of list answers with broken ones
    - ``library_change``: after a page of a paged list is served, give ``change`` wanted
      items a file (negative) or take files away (positive), so the total moves mid-walk
    """

    kind: FaultKind
    status: int = 500
    retry_after: str | None = None
    body: str | None = None
    delay: float = 0.0
    share: float = 0.1
    change: int = 0
    # Applies to request paths containing this text (all API paths when None).
    path: str | None = None
    # How many more requests it applies to (None: until cleared).
    times: int | None = None

    def matches(self, path: str) -> bool:
        """Whether this fault applies to ``path``."""
        return (self.times is None or self.times > 0) and (self.path is None or self.path in path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build from the JSON of the control API (camelCase or snake_case keys)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            snake = "".join("_" + c.lower() if c.isupper() else c for c in key)
            if snake not in names:
                raise ValueError(f"unknown fault field {key!r}")
            kwargs[snake] = value
        if kwargs.get("kind") not in _KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(_KINDS)}")
        if kwargs.get("retry_after") is not None:
            kwargs["retry_after"] = str(kwargs["retry_after"])
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


class FaultSet:
    """The active faults of one simulator (thread-safe: tests may switch them mid-run)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Activate a fault."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        """The active faults."""
        with self._lock:
            return [f for f in self._faults if f.times is None or f.times > 0]

    def take(self, path: str, kinds: tuple[str, ...]) -> Fault | None:
        """The first matching fault of the given kinds, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(path):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def peek(self, path: str, kind: str) -> Fault | None:
        """The first matching fault of ``kind``, without consuming it."""
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and fault.matches(path):
                    return fault
        return None
