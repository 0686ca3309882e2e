"""Smoke: the real gatherarr process against a simulator served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gatherarr_sim_support import API_KEY, Flavor, ServedApp, make_sim
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(predicate: object, *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def cycle_done(path: Path, targets: tuple[str, ...]) -> bool:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    done = document.get("targets", {})
    return all(done.get(t, {}).get("last_status") for t in targets)


def test_process_runs_a_cycle_serves_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    movies = make_sim(Flavor.RADARR_V3)
    tv = make_sim(Flavor.SONARR_V3)
    port = free_port()
    state = tmp_path / "state" / "state.json"
    state.parent.mkdir()
    with ServedApp(movies.app) as radarr, ServedApp(tv.app) as sonarr:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GATHERARR_TARGETS": "movies,tv",
            "GATHERARR_MOVIES_TYPE": "radarr",
            "GATHERARR_MOVIES_URL": radarr.url,
            "GATHERARR_MOVIES_API_KEY": API_KEY,
            "GATHERARR_TV_TYPE": "sonarr",
            "GATHERARR_TV_URL": sonarr.url,
            "GATHERARR_TV_API_KEY": API_KEY,
            "GATHERARR_INTERVAL_SECONDS": "3600",
            "GATHERARR_STATE_FILE": str(state),
            "GATHERARR_LISTEN": f"127.0.0.1:{port}",
            "GATHERARR_LOG_LEVEL": "DEBUG",
            "GATHERARR_TARGET_MAX_SEARCHES_PER_RUN": "3",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "gatherarr"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(
                lambda: (
                    cycle_done(state, ("movies", "tv"))
                    and http_get(f"http://127.0.0.1:{port}/health")[0] == 200
                )
            )
            document = json.loads(state.read_text())
            assert document["targets"]["movies"]["last_status"] == "success"
            assert document["targets"]["tv"]["last_status"] == "success"
            assert len(document["targets"]["movies"]["items"]) == 3
            assert http_get(f"http://127.0.0.1:{port}/health") == (200, "OK")
            status, text = http_get(f"http://127.0.0.1:{port}/metrics")
            assert status == 200
            runs = {
                (s.labels["target"], s.labels["status"]): s.value
                for f in text_string_to_metric_families(text)
                if f.name == "gatherarr_run"
                for s in f.samples
                if s.name == "gatherarr_run_total"
            }
            assert runs[("movies", "success")] == 1 and runs[("tv", "success")] == 1
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines, "expected JSON log lines on stdout"
    sent = [line for line in lines if line["event"] == "search_sent"]
    assert len(sent) == 6 and all(line["level"] == "info" for line in sent)
    assert {line["level"] for line in lines if line["event"] != "search_sent"} <= {
        "debug",
        "warning",
        "error",
    }
    assert API_KEY not in out and API_KEY not in err
    commands = [r for r in tv.requests if r.method == "POST"]
    assert commands and all(json.loads(r.body or "{}")["name"] == "SeasonSearch" for r in commands)


def test_invalid_configuration_exits_2_naming_each_variable(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GATHERARR_TARGETS": "movies",
        "GATHERARR_MOVIES_TYPE": "lidarr",
        "GATHERARR_INTERVAL_SECONDS": "soon",
    }
    result = subprocess.run(
        [sys.executable, "-m", "gatherarr"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    for name in (
        "GATHERARR_MOVIES_TYPE",
        "GATHERARR_MOVIES_URL",
        "GATHERARR_MOVIES_API_KEY",
        "GATHERARR_INTERVAL_SECONDS",
    ):
        assert name in result.stderr
