"""Faults the user should never have to handle (issue 20): a second `comradarr up` on the same
data directory refuses at once; an embedded PostgreSQL or nats-server that dies is restarted,
and /health is back to 200 within 10 s."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from comradarr_embedded import free_port

from .test_cli import CLI, base_env, get_health, start, stop, wait_healthy

pytestmark = pytest.mark.integration


def back_to_healthy(port: int, killed: psutil.Process, restarted: Callable[[], bool]) -> float:
    """Seconds from the kill until a new server runs and /health answers 200 again."""
    started = time.monotonic()
    killed.wait(5)
    while time.monotonic() - started < 10.0:
        with contextlib.suppress(OSError):
            if restarted() and get_health(port)[0] == 200:
                return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError("not restarted and healthy within 10 s")


def nats_children(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    return [p for p in psutil.Process(proc.pid).children() if "nats" in p.name()]


def setup_required(port: int) -> bool:
    url = f"http://127.0.0.1:{port}/api/v1/setup/status"
    with urllib.request.urlopen(url, timeout=5) as resp:
        return bool(json.loads(resp.read())["setup_required"])


def test_second_up_refuses_and_dead_embedded_servers_come_back(private_tmp: Path) -> None:
    port = free_port()
    data = private_tmp / "data"
    env = base_env(data, GATEWAY_PORT=str(port))
    proc = start(env, "up")
    try:
        wait_healthy(proc, port)
        nats_before = nats_children(proc)
        assert len(nats_before) == 1
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/setup",
            data=json.dumps({"username": "owner", "password": "Owner-Password-1"}).encode(),
            headers={"content-type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()

        # A second `up` on the same data directory: refused at once, nothing else started.
        t0 = time.monotonic()
        second = subprocess.run(
            [*CLI, "up"],
            env={**env, "GATEWAY_PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "already running" in second.stderr and str(data) in second.stderr
        assert f"pid {proc.pid}" in second.stderr
        assert time.monotonic() - t0 < 15  # (interpreter start-up on a busy machine)
        assert nats_children(proc) == nats_before

        # nats-server killed: restarted on the same port and store.
        nats_before[0].send_signal(signal.SIGKILL)
        back_to_healthy(
            port,
            nats_before[0],
            lambda: [p.pid for p in nats_children(proc)] not in ([], [nats_before[0].pid]),
        )

        # PostgreSQL's postmaster killed: restarted on the same data.
        pid_file = data / "embedded" / "postgres" / "postmaster.pid"
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        postmaster.send_signal(signal.SIGKILL)
        back_to_healthy(
            port,
            postmaster,
            lambda: pid_file.exists() and int(pid_file.read_text().split()[0]) != postmaster.pid,
        )
        assert setup_required(port) is False  # the same data
    finally:
        out = stop(proc)
    assert out.count("embedded server restarted") == 2
