"""JSON log lines, levels and redaction of API keys."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from gatherarr import TargetType, WantedItem
from gatherarr._logging import REDACTED, Redactor, configure_logging
from gatherarr._metrics import Metrics
from gatherarr._port import PermanentError
from gatherarr._runner import Target, Worker
from gatherarr._state import StateStore
from gatherarr_fakes import FakeClient, FakeClock, make_config

pytestmark = pytest.mark.unit

KEY = "planted0secret0key0abcdef123456"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging(level="DEBUG", secrets=[KEY], stream=out)
    yield out
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_redactor_masks_by_key_value_and_inline() -> None:
    redact = Redactor(secrets=[KEY, ""])
    event = redact(
        None,
        "info",
        {
            "event": f"GET http://x/api?apikey={KEY}",
            "api_key": "anything",
            "headers": {"X-Api-Key": "other", "Accept": "json"},
            "nested": [f"key {KEY}", 1, None, True, {"Authorization": "Bearer t"}],
            "url": "http://x/api/v3/movie?apiKey=unknown-value&page=1",
            "obj": Path(f"/tmp/{KEY}"),
            "count": 3,
        },
    )
    text = json.dumps(event)
    assert KEY not in text and "unknown-value" not in text and "Bearer t" not in text
    assert event["api_key"] == REDACTED
    assert event["headers"] == {"X-Api-Key": REDACTED, "Accept": "json"}
    assert event["count"] == 3
    assert event["url"] == "http://x/api/v3/movie?apiKey=***&page=1"


def test_json_lines_with_levels_and_stdlib_records(stream: io.StringIO) -> None:
    structlog.get_logger("t").info("hello", target_name="movies", api_key=KEY)
    logging.getLogger("other").warning("stdlib says %s", KEY)
    logging.getLogger("httpx").info("HTTP Request: GET http://x?apikey=%s", KEY)
    records = lines(stream)
    assert [r["level"] for r in records] == ["info", "warning"]
    assert records[0]["event"] == "hello" and records[0]["target_name"] == "movies"
    assert KEY not in stream.getvalue()


async def test_a_run_logs_info_only_for_searches_and_never_the_key(
    stream: io.StringIO, tmp_path: Path
) -> None:
    config = make_config(tmp_path, targets={"tv": TargetType.SONARR})
    target_cfg = dataclasses.replace(config.targets[0], api_key=KEY)
    client = FakeClient(
        items=[WantedItem.season(3, 1), WantedItem.season(3, 2)],
        failures={"search": [PermanentError(f"400 for apikey={KEY}")]},
    )
    store = StateStore(path=config.state_file)
    clock = FakeClock()
    worker = Worker(
        config=config,
        targets=[Target(config=target_cfg, client=client)],
        store=store,
        state=store.load(now=clock()),
        metrics=Metrics(),
        stop=asyncio.Event(),
        clock=clock,
    )
    await worker.run_once()
    text = stream.getvalue()
    assert KEY not in text
    records = lines(stream)
    infos = [r for r in records if r["level"] == "info"]
    assert [r["event"] for r in infos] == ["search_sent"]
    sent = infos[0]
    assert sent["target_name"] == "tv" and sent["target_type"] == "sonarr"
    assert sent["series_id"] == 3 and sent["season_number"] == 2
    assert isinstance(sent["run_id"], str) and sent["command"] == "SeasonSearch"
    failed = next(r for r in records if r["event"] == "search_failed")
    assert failed["level"] == "warning" and failed["season_number"] == 1
    assert {r["level"] for r in records} <= {"debug", "info", "warning"}
