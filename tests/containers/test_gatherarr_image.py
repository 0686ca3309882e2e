"""Gatherarr's container smoke test (its PRD): configured by environment variables only,
state on a mounted volume, one run cycle against a Radarr simulator, the state file updated,
`/metrics` and `/health` served, SIGTERM ends it with exit code 0, not as root."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.containers.support import (
    ARR_KEY,
    GATHERARR_IMAGE,
    free_port,
    image_size_mb,
    podman,
    record,
    require_image,
    simulator,
    wait_until,
)

pytestmark = pytest.mark.containers


@pytest.mark.timeout(300)
def test_gatherarr_runs_a_cycle_with_a_mounted_state_volume(tmp_path: Path) -> None:
    require_image(GATHERARR_IMAGE)
    record("image size MB", {GATHERARR_IMAGE: round(image_size_mb(GATHERARR_IMAGE), 1)})
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)  # the image's user (10001) writes here
    state = data / "state.json"
    port = free_port()
    name = f"gatherarr-smoke-{uuid.uuid4().hex[:8]}"
    with simulator("radarr", log=tmp_path / "radarr.log", movies=40, command_duration=0.2) as sim:
        try:
            podman(
                "run", "-d", "--name", name, "--init", "--read-only", "--network", "host",
                "-v", f"{data}:/data",
                "-e", f"GATHERARR_LISTEN=127.0.0.1:{port}",
                "-e", "GATHERARR_TARGETS=movies",
                "-e", "GATHERARR_MOVIES_TYPE=radarr",
                "-e", f"GATHERARR_MOVIES_URL={sim.url}",
                "-e", f"GATHERARR_MOVIES_API_KEY={ARR_KEY}",
                "-e", "GATHERARR_MOVIES_MAX_SEARCHES_PER_RUN=5",
                GATHERARR_IMAGE,
            )  # fmt: skip

            def one_run() -> dict[str, object] | None:
                doc = json.loads(state.read_text())
                return doc if doc.get("total_runs", 0) >= 1 else None

            doc = wait_until("the state file records a run", one_run, 90)
            movies = doc["targets"]["movies"]  # type: ignore[index]
            assert movies["last_status"] == "success", movies
            assert 1 <= len(movies["items"]) <= 5, movies["items"]
            commands = sim.commands()
            assert commands and all("MoviesSearch" in (c["body"] or "") for c in commands)
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
            assert health.status_code == 200
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            assert _sample(metrics, "gatherarr_run_total", 'status="success"') >= 1
            assert _sample(metrics, "gatherarr_searches_total", 'target="movies"') == len(commands)
            t_stop = time.monotonic()
            podman("stop", "-t", "20", name, timeout=60)
            record("gatherarr stop s", round(time.monotonic() - t_stop, 1))
            assert podman("inspect", "--format", "{{.State.ExitCode}}", name) == "0"
            user = podman("inspect", "--format", "{{.Config.User}}", GATHERARR_IMAGE)
            assert user.split(":")[0] not in ("", "0", "root"), user
            # The state survives the container: its items are there for the next one.
            assert json.loads(state.read_text())["total_runs"] >= 1
        finally:
            podman("rm", "-f", "-t", "5", name, check=False)


def _sample(metrics: str, name: str, label: str) -> float:
    """The value of the one sample of name whose labels include label."""
    (value,) = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(name + "{") and label in line
    ]
    return value
