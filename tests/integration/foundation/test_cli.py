"""The real `comradarr` process: all-in-one with embedded servers, and one service alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from comradarr_embedded import free_port

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "comradarr_runtime.cli"]


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "NATS_URL", "SECRET_KEY"} and not k.startswith("TEST_")
    }
    env.update(
        COMRADARR_DATA_DIR=str(data_dir),
        HOST="127.0.0.1",
        LOG_LEVEL="info",
        COMRADARR_UI="off",  # the UI build has its own e2e suite
        **extra,
    )
    return env


def get_health(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_healthy(proc: subprocess.Popen[str], port: int, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"exited early ({proc.returncode}): {proc.stdout.read() if proc.stdout else ''}"
            )
        try:
            status, body = get_health(port)
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("never became healthy")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0, out
    return out


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_up_with_embedded_servers_keeps_data_across_restarts(private_tmp: Path) -> None:
    tmp_path = private_tmp
    port = free_port()
    env = base_env(tmp_path / "data", GATEWAY_PORT=str(port))
    proc = start(env, "up")
    try:
        body = wait_healthy(proc, port)
    finally:
        out = stop(proc)
    assert (body["status"], body["database"], body["nats"]) == ("healthy", "ok", "ok")
    assert "embedded PostgreSQL started" in out and "embedded nats-server started" in out
    assert "migration applied" in out
    assert (tmp_path / "data" / "secret_key").exists()

    # Second start: same data, nothing left to migrate, still healthy.
    proc = start(env, "up")
    try:
        wait_healthy(proc, port)
    finally:
        out = stop(proc)
    assert "migration applied" not in out
    assert "stopped" in out


def test_service_alone_against_the_shared_servers(
    database_url: str, nats_url: str, bus_prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    env = base_env(
        tmp_path,
        DATABASE_URL=database_url,
        NATS_URL=nats_url,
        COMRADARR_BUS_PREFIX=bus_prefix,
        COMRADARR_SERVICE_PORT=str(port),
    )
    proc = start(env, "service", "sync")
    try:
        wait_healthy(proc, port, timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            assert b"comradarr_bus_published_total" in resp.read()
    finally:
        out = stop(proc)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines and all(
        {"timestamp", "level", "service", "module", "event"} <= set(x) for x in lines
    )
    assert any(x["event"] == "started" and x["services"] == ["sync"] for x in lines)


def test_invalid_configuration_fails_fast_naming_the_variable(tmp_path: Path) -> None:
    env = base_env(tmp_path, TZ="Mars/Olympus", GATEWAY_PORT="99999")
    result = subprocess.run([*CLI, "up"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "TZ" in result.stderr and "GATEWAY_PORT" in result.stderr


def test_unknown_service_is_a_clear_error(tmp_path: Path) -> None:
    env = base_env(
        tmp_path, DATABASE_URL="postgresql://x@127.0.0.1/x", NATS_URL="nats://127.0.0.1:1"
    )
    result = subprocess.run(
        [*CLI, "service", "nope"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "unknown service 'nope'" in result.stderr
