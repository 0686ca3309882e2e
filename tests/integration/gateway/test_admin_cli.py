"""`comradarr admin unlock` and `reset-password`: the owner gets back in from the host, with
the services running (sharing the embedded PostgreSQL of `comradarr up`) or stopped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from comradarr_embedded import free_port

from tests.integration.foundation.test_cli import CLI, base_env, start, stop, wait_healthy

pytestmark = pytest.mark.integration

OWNER, FIRST, SECOND, THIRD = "owner", "First-Password-123", "Second-Password-456", "Third-Pw-789!"


def admin(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "admin", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def login(c: httpx.Client, password: str) -> httpx.Response:
    return c.post("/api/v1/auth/login", json={"username": OWNER, "password": password})


def test_unlock_and_reset_password_with_services_running_and_stopped(private_tmp: Path) -> None:
    port = free_port()
    env = base_env(private_tmp / "data", GATEWAY_PORT=str(port))
    assert "no administrator yet" in admin(env, "unlock").stderr  # nothing set up: says so
    proc = start(env, "up")
    try:
        wait_healthy(proc, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            r = c.post("/api/v1/setup", json={"username": OWNER, "password": FIRST})
            assert r.status_code == 201
            for _ in range(5):
                login(c, "not-the-password")
            assert login(c, FIRST).status_code == 429  # this address is locked out

            done = admin(env, "unlock")
            assert done.returncode == 0, done.stderr
            assert "cleared" in done.stdout
            assert login(c, FIRST).status_code == 200
            assert c.get("/api/v1/auth/me").status_code == 200

            short = admin(env, "reset-password", "--password-stdin", stdin="short\n")
            assert short.returncode == 1 and "at least 10" in short.stderr
            done = admin(env, "reset-password", "--password-stdin", stdin=SECOND + "\n")
            assert done.returncode == 0, done.stderr
            assert "1 session(s) signed out" in done.stdout or "session(s)" in done.stdout
            assert c.get("/api/v1/auth/me").status_code == 401  # every session ended
            assert login(c, FIRST).status_code == 401
            assert login(c, SECOND).status_code == 200
    finally:
        stop(proc)

    done = admin(env, "reset-password", "--password-stdin", stdin=THIRD + "\n")
    assert done.returncode == 0, done.stderr
    proc = start(env, "up")
    try:
        wait_healthy(proc, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            assert login(c, SECOND).status_code == 401
            assert login(c, THIRD).status_code == 200
    finally:
        stop(proc)
