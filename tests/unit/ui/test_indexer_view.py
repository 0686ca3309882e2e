"""The Indexers page's words: states, until when, staleness, the summary line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.unit
pytest.importorskip("reflex")  # the UI's packages (a dependency group of their own)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_rows_say_state_until_and_statistics() -> None:
    from comradarr_ui.indexers import indexer_row

    row = indexer_row(
        {
            "connector_id": 1,
            "indexer_id": 2,
            "name": "DrunkenSlug",
            "connector_name": "Prowlarr",
            "state": "rate_limited",
            "until": (NOW + timedelta(minutes=23)).isoformat(),
            "message": "Query limit reached",
            "statistics": {"queries": 10, "grabs": 2, "failed_queries": 1, "failed_grabs": 0},
            "last_checked_at": (NOW - timedelta(seconds=90)).isoformat(),
            "stale": False,
        },
        NOW,
    )
    assert (row.state_label, row.color) == ("rate limited", "orange")
    assert row.until == "in 23 min (12:23 UTC)"
    assert (row.queries, row.grabs, row.failed) == ("10", "2", "1 / 0")
    assert row.checked == "1 min ago"
    bare = indexer_row({"name": "X", "state": "healthy", "statistics": None}, NOW)
    assert bare.queries == "—" and bare.until == "" and bare.checked == "never"


def test_stale_sources_and_summary() -> None:
    from comradarr_ui.indexers import stale_notes, summary_text

    notes = stale_notes(
        [
            {"name": "P1", "stale": True, "enabled": True, "age_seconds": 900, "error": "refused"},
            {"name": "P2", "stale": True, "enabled": True, "age_seconds": None},
            {"name": "P3", "stale": False, "enabled": True, "age_seconds": 5},
        ],
        NOW,
    )
    assert [(n.name, n.text) for n in notes] == [
        ("P1", "last answered 15 min ago: showing that data (refused)"),
        ("P2", "not answered yet: waiting for the first poll"),
    ]
    summary = summary_text({"healthy": 3, "rate_limited": 1, "failing": 0, "disabled": 2})
    assert summary == "3 healthy · 1 rate limited · 2 disabled"
