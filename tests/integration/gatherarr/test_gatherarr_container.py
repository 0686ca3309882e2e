"""Container smoke test: only where a Docker engine answers; skipped (saying so) elsewhere."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.timeout(900)
@pytest.mark.skipif(not docker_available(), reason="no Docker engine answers `docker info` here")
def test_container_runs_a_cycle_with_a_mounted_state_volume(tmp_path: Path) -> None:
    tag = f"gatherarr-smoke:{uuid.uuid4().hex[:8]}"
    name = f"gatherarr-smoke-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "build", "-f", "deploy/gatherarr/Dockerfile", "-t", tag, "."],
        cwd=REPO,
        check=True,
        timeout=800,
    )
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    try:
        # The target is unreachable on purpose: the cycle must still run and write state.
        subprocess.run(
            [
                "docker", "run", "-d", "--name", name, "-p", "127.0.0.1::9797",
                "-v", f"{data}:/data",
                "-e", "GATHERARR_TARGETS=movies",
                "-e", "GATHERARR_MOVIES_TYPE=radarr",
                "-e", "GATHERARR_MOVIES_URL=http://127.0.0.1:9",
                "-e", "GATHERARR_MOVIES_API_KEY=container-smoke-key",
                "-e", "GATHERARR_RETRY_MAX_ATTEMPTS=1",
                tag,
            ],
            check=True,
            timeout=60,
        )  # fmt: skip
        port = (
            subprocess.run(
                ["docker", "port", name, "9797/tcp"], capture_output=True, text=True, check=True
            )
            .stdout.strip()
            .rsplit(":", 1)[1]
        )
        deadline = time.monotonic() + 60
        state = data / "state.json"
        while time.monotonic() < deadline:
            if state.exists() and json.loads(state.read_text()).get("total_runs", 0) >= 1:
                break
            time.sleep(1)
        assert json.loads(state.read_text())["total_runs"] >= 1
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            assert r.status == 200
        stop = subprocess.run(["docker", "stop", "-t", "20", name], timeout=60, check=True)
        assert stop.returncode == 0
        code = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.ExitCode}}", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert code == "0"
        user = subprocess.run(
            ["docker", "inspect", "-f", "{{.Config.User}}", tag],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert user.split(":")[0] not in ("", "0", "root")
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)
