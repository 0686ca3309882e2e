"""How the Maintenance page words sizes, durations, times and what a run removed."""

from __future__ import annotations

from comradarr_ui.maintenance import fmt_bytes, fmt_local, fmt_seconds, removed_text


def test_sizes_and_durations() -> None:
    assert fmt_bytes(512) == "512 B"
    assert fmt_bytes(1536) == "1.5 KiB"
    assert fmt_bytes(3 * 1024**3) == "3.0 GiB"
    assert fmt_seconds(None) == "—"
    assert fmt_seconds(0.42) == "0.4 s"
    assert fmt_seconds(125) == "2 min 5 s"


def test_times_in_the_cron_time_zone() -> None:
    assert fmt_local("2026-03-01T02:30:00Z", "Europe/Berlin") == "2026-03-01 03:30"
    assert fmt_local("2026-03-01T02:30:00Z", "Not/AZone") == "2026-03-01 02:30"
    assert fmt_local(None, "UTC") == "—"


def test_what_a_run_removed() -> None:
    steps = [
        {"service": "dispatcher", "removed": {"search_history": 1204, "webhook_found": 0}},
        {"service": "gateway", "removed": {"sessions": 3}},
    ]
    assert removed_text(steps) == "search_history 1,204 · sessions 3"
    assert removed_text([{"removed": {}}]) == "nothing"
