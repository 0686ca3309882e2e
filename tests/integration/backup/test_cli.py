"""`comradarr backup create|list|restore` on a real `comradarr up` (embedded servers), with
the services running and stopped; a wrong key is refused naming both fingerprints."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from comradarr_backup import key_fingerprint
from comradarr_embedded import free_port

from tests.integration.foundation.test_cli import CLI, base_env, start, stop, wait_healthy

from .support import OTHER_KEY

pytestmark = pytest.mark.integration

OWNER, PASSWORD = "owner", "Owner-Password-123"


def backup(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "backup", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def _login(c: httpx.Client) -> None:
    r = c.post("/api/v1/auth/login", json={"username": OWNER, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]


def _keys(c: httpx.Client) -> list[str]:
    return sorted(k["description"] for k in c.get("/api/v1/api-keys").json())


def test_create_list_restore_with_services_running_and_stopped(private_tmp: Path) -> None:
    data = private_tmp / "data"
    port = free_port()
    env = base_env(data, GATEWAY_PORT=str(port))
    assert "nothing to back up" in backup(env, "create").stderr
    proc = start(env, "up")
    try:
        wait_healthy(proc, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as c:
            assert (
                c.post("/api/v1/setup", json={"username": OWNER, "password": PASSWORD}).status_code
                == 201
            )
            _login(c)
            assert (
                c.post(
                    "/api/v1/api-keys", json={"description": "before", "scope": "read"}
                ).status_code
                == 201
            )
            made = backup(env, "create")
            assert made.returncode == 0, made.stderr
            assert "backup written:" in made.stdout and "SECRET_KEY fingerprint" in made.stdout
            small = backup(env, "create", "--no-mirror", "--output", str(private_tmp / "small.zip"))
            assert small.returncode == 0, small.stderr
            assert "left out:" in small.stdout and "episodes" in small.stdout
            listed = backup(env, "list")
            assert listed.stdout.count("comradarr-backup-") == 1
            path = made.stdout.split("backup written: ", 1)[1].split("\n", 1)[0]
            assert (
                c.post(
                    "/api/v1/api-keys", json={"description": "after", "scope": "read"}
                ).status_code
                == 201
            )
            assert _keys(c) == ["after", "before"]

            refused = backup(env, "restore", path)
            assert refused.returncode == 1 and "--yes" in refused.stderr
            done = backup(env, "restore", path, "--yes")
            assert done.returncode == 0, done.stderr
            assert "running services were told" in done.stdout
            assert "state before the restore was kept" in done.stdout
            # Sessions are not in backups: signed out; the restored state is served at once.
            assert c.get("/api/v1/auth/me").status_code == 401
            _login(c)
            assert _keys(c) == ["before"]
    finally:
        stop(proc)
    # Stopped: the CLI starts the embedded database by itself.
    offline = backup(env, "create", "--no-mirror")
    assert offline.returncode == 0, offline.stderr
    wrong = backup({**env, "SECRET_KEY": OTHER_KEY}, "restore", path, "--yes")
    assert wrong.returncode == 1
    own = (data / "secret_key").read_text().strip()
    assert key_fingerprint(own) in wrong.stderr and key_fingerprint(OTHER_KEY) in wrong.stderr
    assert "Nothing was changed" in wrong.stderr
