"""State serialisation, atomic write, crash safety and corrupt-file recovery."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gatherarr._state import (
    ItemState,
    State,
    StateStore,
    StateWriteError,
    TargetState,
    atomic_write,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def sample_state() -> State:
    state = State(process_start=NOW, total_runs=4)
    state.targets["movies"] = TargetState(
        last_run=NOW,
        last_success=NOW,
        last_status="success",
        consecutive_failures=0,
        last_error=None,
        history_checked=NOW,
        items={"movie:1": ItemState(last_processed=NOW, last_result="searched", grab_seen=True)},
    )
    state.targets["tv"] = TargetState(last_status="failure", consecutive_failures=2, last_error="x")
    return state


def test_round_trip_keeps_everything_but_process_start() -> None:
    state = sample_state()
    later = datetime(2030, 1, 1, tzinfo=UTC)
    loaded = State.from_json(json.loads(json.dumps(state.to_json())), process_start=later)
    assert loaded.process_start == later
    assert loaded.total_runs == 4
    assert loaded.targets == state.targets


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"version": 99},
        {"version": 1, "total_runs": "x"},
        {"version": 1, "targets": {"a": []}},
        {"version": 1, "targets": {"a": {"consecutive_failures": "x"}}},
        {"version": 1, "targets": {"a": {"items": {"k": 1}}}},
        {"version": 1, "targets": {"a": {"items": {"k": {}}}}},
        {"version": 1, "targets": {"a": {"last_run": 5}}},
        {"version": 1, "targets": {"a": {"last_run": "2026-01-01T00:00:00"}}},
        {"version": 1, "targets": {"a": {"last_run": "yesterday"}}},
    ],
)
def test_malformed_documents_are_rejected(document: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        State.from_json(document, process_start=NOW)


def test_save_then_load(tmp_path: Path) -> None:
    store = StateStore(path=tmp_path / "state.json")
    assert store.load(now=NOW).targets == {}
    store.save(sample_state())
    assert store.load(now=NOW).targets == sample_state().targets
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_corrupt_file_is_moved_aside_and_fresh_state_used(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    state = StateStore(path=path).load(now=NOW)
    assert state.targets == {} and state.total_runs == 0
    assert not path.exists()
    aside = list(tmp_path.glob("state.json.corrupt.*"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
    assert aside[0].name == "state.json.corrupt.20260102T030405000000Z"


def test_binary_garbage_is_corrupt_too(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert StateStore(path=path).load(now=NOW).total_runs == 0
    assert len(list(tmp_path.glob("state.json.corrupt.*"))) == 1


def test_crash_between_write_and_rename_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    store = StateStore(path=path)
    store.save(sample_state())
    before = path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise KeyboardInterrupt("power cut")  # not an OSError: simulates the process dying

    newer = sample_state()
    newer.total_runs = 99
    with monkeypatch.context() as m:
        m.setattr(os, "replace", crash)
        with pytest.raises(KeyboardInterrupt):
            store.save(newer)
    assert path.read_bytes() == before
    # A real crash would leave the temp file; recovery removes it and reads the old state.
    (tmp_path / ".state.json.abc123.tmp").write_bytes(b"half-written")
    assert store.load(now=NOW).total_runs == 4
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_write_failure_raises_state_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"

    def fail(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(StateWriteError, match="I/O error"):
        StateStore(path=path).save(sample_state())
    assert list(tmp_path.iterdir()) == []


def test_read_only_directory_raises_state_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path.chmod(0o500)
    if os.geteuid() == 0:
        # root ignores mode bits, so fail temp-file creation as a read-only mount would.
        def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        with pytest.raises(StateWriteError):
            StateStore(path=tmp_path / "state.json").save(sample_state())
    finally:
        tmp_path.chmod(0o700)


def test_missing_directory_raises_state_write_error(tmp_path: Path) -> None:
    with pytest.raises(StateWriteError):
        StateStore(path=tmp_path / "nope" / "state.json").save(sample_state())


def test_atomic_write_replaces_content(tmp_path: Path) -> None:
    path = tmp_path / "f"
    atomic_write(path, b"one")
    atomic_write(path, b"two")
    assert path.read_bytes() == b"two"


def test_corrupt_file_that_cannot_be_moved_still_gives_fresh_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    path.write_text("[]")

    def refuse(src: object, dst: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "replace", refuse)
    assert StateStore(path=path).load(now=NOW).total_runs == 0
    assert path.exists()
