"""Message contracts: subjects, de-duplication ids, generated documents up to date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from comradarr_proto import (
    ALL_MESSAGES,
    COMMANDS_STREAM,
    EVENTS_STREAM,
    RequestSweep,
    SyncCompleted,
    stream_name,
)
from comradarr_proto.generate import main as generate_main
from pydantic import ValidationError

pytestmark = pytest.mark.unit


def test_every_message_carries_version_correlation_and_time() -> None:
    for model in ALL_MESSAGES:
        fields = model.model_fields
        assert {"schema_version", "correlation_id", "occurred_at", "message_id"} <= set(fields)
        assert model.kind in {"command", "event"}
        root = "cmd" if model.kind == "command" else "evt"
        assert model.subject_template.startswith(root + ".")


def test_commands_are_routed_per_connector() -> None:
    msg = RequestSweep(connector_id=42)
    assert msg.subject("comradarr") == "comradarr.cmd.sweep.42"
    assert RequestSweep.subject_filter("comradarr") == "comradarr.cmd.sweep.*"


def test_scheduled_sweep_id_is_the_same_in_every_replica() -> None:
    fire = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    a = RequestSweep.from_schedule(schedule_id=7, fire_time=fire, connector_id=1)
    b = RequestSweep.from_schedule(schedule_id=7, fire_time=fire, connector_id=1)
    assert a.message_id == b.message_id
    assert a.correlation_id != b.correlation_id


def test_validation_at_the_edge() -> None:
    with pytest.raises(ValidationError):
        RequestSweep(connector_id=0)
    with pytest.raises(ValidationError):
        SyncCompleted.model_validate_json(b'{"connector_id": 1}')
    # Unknown fields from a newer producer are ignored, not fatal.
    ok = RequestSweep.model_validate_json(b'{"connector_id": 3, "future_field": true}')
    assert ok.connector_id == 3


def test_stream_names_are_valid() -> None:
    assert stream_name("comradarr", COMMANDS_STREAM) == "COMRADARR_COMMANDS"
    assert stream_name("a.b-c", EVENTS_STREAM) == "A_B_C_EVENTS"


def test_generated_schemas_are_fresh() -> None:
    assert generate_main(["--check"]) == 0, "run: uv run python -m comradarr_proto.generate"
