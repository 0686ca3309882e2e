"""Persistent state: a small JSON file written atomically after every outcome."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

SCHEMA_VERSION = 1
_log = structlog.get_logger("gatherarr.state")


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _parse_ts(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"timestamp must be a string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return parsed


@dataclass(slots=True)
class ItemState:
    """What gatherarr last did with one movie or season."""

    last_processed: datetime
    last_result: str
    grab_seen: bool = False


@dataclass(slots=True)
class TargetState:
    """Run bookkeeping of one target."""

    last_run: datetime | None = None
    last_success: datetime | None = None
    last_status: str | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    history_checked: datetime | None = None
    items: dict[str, ItemState] = field(default_factory=dict)


@dataclass(slots=True)
class State:
    """Everything gatherarr remembers between runs and restarts."""

    process_start: datetime
    total_runs: int = 0
    targets: dict[str, TargetState] = field(default_factory=dict)

    def target(self, name: str) -> TargetState:
        """Return the state of ``name``, creating it on first use."""
        return self.targets.setdefault(name, TargetState())

    def to_json(self) -> dict[str, Any]:
        """Serialise to plain JSON types."""
        return {
            "version": SCHEMA_VERSION,
            "process_start": _ts(self.process_start),
            "total_runs": self.total_runs,
            "targets": {
                name: {
                    "last_run": _ts(t.last_run),
                    "last_success": _ts(t.last_success),
                    "last_status": t.last_status,
                    "consecutive_failures": t.consecutive_failures,
                    "last_error": t.last_error,
                    "history_checked": _ts(t.history_checked),
                    "items": {
                        key: {
                            "last_processed": _ts(i.last_processed),
                            "last_result": i.last_result,
                            "grab_seen": i.grab_seen,
                        }
                        for key, i in sorted(t.items.items())
                    },
                }
                for name, t in sorted(self.targets.items())
            },
        }

    @classmethod
    def from_json(cls, data: object, *, process_start: datetime) -> State:
        """Parse what to_json produced; raise ValueError on anything unexpected."""
        if not isinstance(data, dict) or data.get("version") != SCHEMA_VERSION:
            raise ValueError("not a gatherarr state document of a known version")
        total_runs = data.get("total_runs", 0)
        targets_raw = data.get("targets", {})
        if not isinstance(total_runs, int) or not isinstance(targets_raw, dict):
            raise ValueError("total_runs or targets has the wrong type")
        state = cls(process_start=process_start, total_runs=total_runs)
        for name, raw in targets_raw.items():
            if not isinstance(raw, dict) or not isinstance(raw.get("items", {}), dict):
                raise ValueError(f"target {name!r} is malformed")
            failures = raw.get("consecutive_failures", 0)
            if not isinstance(failures, int):
                raise ValueError(f"target {name!r} consecutive_failures is not an integer")
            items: dict[str, ItemState] = {}
            for key, item in raw.get("items", {}).items():
                if not isinstance(item, dict):
                    raise ValueError(f"item {key!r} is malformed")
                processed = _parse_ts(item.get("last_processed"))
                if processed is None:
                    raise ValueError(f"item {key!r} has no last_processed")
                items[key] = ItemState(
                    last_processed=processed,
                    last_result=str(item.get("last_result", "")),
                    grab_seen=bool(item.get("grab_seen", False)),
                )
            state.targets[name] = TargetState(
                last_run=_parse_ts(raw.get("last_run")),
                last_success=_parse_ts(raw.get("last_success")),
                last_status=raw.get("last_status"),
                consecutive_failures=failures,
                last_error=raw.get("last_error"),
                history_checked=_parse_ts(raw.get("history_checked")),
                items=items,
            )
        return state


class StateWriteError(Exception):
    """The state file could not be written; the previous file is left intact."""


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see either the old or the new file, never a mix."""
    directory = path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    # Without the directory fsync the rename itself may not survive a power cut.
    _fsync_dir(directory)


class StateStore:
    """Loads and saves State at one path."""

    def __init__(self, *, path: Path) -> None:
        self.path = path

    def load(self, *, now: datetime) -> State:
        """Read the state, or start fresh when it is absent or corrupt (moving the bad file)."""
        self._remove_stale_temps()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            _log.debug("state_file_absent", path=str(self.path))
            return State(process_start=now)
        try:
            state = State.from_json(json.loads(raw), process_start=now)
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            aside = self.path.with_name(
                f"{self.path.name}.corrupt.{now.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
            )
            try:
                os.replace(self.path, aside)
            except OSError as move_exc:
                _log.error("state_file_corrupt_not_moved", path=str(self.path), error=str(move_exc))
            else:
                _log.error(
                    "state_file_corrupt", path=str(self.path), moved_to=str(aside), error=str(exc)
                )
            return State(process_start=now)
        _log.debug("state_loaded", path=str(self.path), targets=len(state.targets))
        return state

    def save(self, state: State) -> None:
        """Persist ``state`` atomically; raise StateWriteError on any filesystem failure."""
        data = json.dumps(state.to_json(), indent=2, sort_keys=True).encode()
        try:
            atomic_write(self.path, data)
        except OSError as exc:
            raise StateWriteError(f"cannot write {self.path}: {exc}") from exc

    def _remove_stale_temps(self) -> None:
        # A crash between writing the temp file and the rename leaves it behind.
        with contextlib.suppress(OSError):
            for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
                with contextlib.suppress(OSError):
                    stale.unlink()
