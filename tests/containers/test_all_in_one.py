"""The Comradarr image, all-in-one with embedded PostgreSQL and NATS, run by podman.

`make test-containers` builds the image first (`make image`). The container runs as it
would at a user's: `--init`, `--read-only`, a named volume on /data, the image's own user.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.containers.support import (
    ARR_KEY,
    IMAGE,
    Api,
    free_port,
    http_ok,
    image_size_mb,
    podman,
    record,
    require_image,
    simulator,
    tail,
    wait_until,
)

pytestmark = pytest.mark.containers


@pytest.fixture(scope="module")
def volume() -> Iterator[str]:
    require_image(IMAGE)
    name = f"comradarr-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", name)
    try:
        yield name
    finally:
        podman("volume", "rm", "-f", name, check=False)


@contextlib.contextmanager
def container(volume: str, *, gateway: int, ui: int) -> Iterator[str]:
    name = f"comradarr-aio-{uuid.uuid4().hex[:8]}"
    podman(
        "run", "-d", "--name", name, "--init", "--read-only", "--network", "host",
        "-v", f"{volume}:/data",
        "-e", f"GATEWAY_PORT={gateway}", "-e", f"PORT={ui}",
        "-e", f"COMRADARR_UI_API_URL=http://127.0.0.1:{ui}",
        "-e", "COMRADARR_SHUTDOWN_TIMEOUT=10",
        IMAGE,
    )  # fmt: skip
    try:
        yield name
    finally:
        logs = podman("logs", name, check=False)
        Path(__file__).with_name("artifacts").mkdir(exist_ok=True)
        Path(__file__).with_name("artifacts").joinpath(f"{name}.log").write_text(logs)
        podman("rm", "-f", "-t", "5", name, check=False)


def _ui_page(ui: int) -> str | None:
    """The UI's first page when it and its backend (Reflex's /ping) answer, else None."""
    page = httpx.get(f"http://127.0.0.1:{ui}/", timeout=5)
    ping = httpx.get(f"http://127.0.0.1:{ui}/ping", timeout=5)
    return page.text if page.status_code == 200 and ping.status_code == 200 else None


def _health(gateway: int) -> bool:
    resp = httpx.get(f"http://127.0.0.1:{gateway}/health", timeout=5)
    return resp.status_code == 200 and resp.json()["status"] == "healthy"


@pytest.mark.timeout(900)
def test_all_in_one_serves_syncs_searches_and_keeps_its_data(volume: str, tmp_path: Path) -> None:
    record("image size MB", {IMAGE: round(image_size_mb(IMAGE), 1)})
    gateway, ui = free_port(), free_port()
    with simulator(log=tmp_path / "sonarr.log", series=20, command_duration=0.2) as sim:
        t0 = time.monotonic()
        with container(volume, gateway=gateway, ui=ui) as name:
            wait_until("/health 200", lambda: _health(gateway), 180)
            record("first start to healthy s", round(time.monotonic() - t0, 1))
            page = wait_until("the web UI answers", lambda: _ui_page(ui), 180)
            record("first start to UI answering s", round(time.monotonic() - t0, 1))
            assert "<html" in page.lower()
            user = podman("inspect", "--format", "{{.Config.User}}", name)
            assert user.split(":")[0] not in ("", "0", "root"), user
            assert podman("exec", name, "id", "-u") == "10001"
            assert podman("exec", name, "sh", "-c", "touch /x 2>&1 || echo read-only").endswith(
                "read-only"
            )
            with Api(f"http://127.0.0.1:{gateway}") as api:
                api.setup_or_login()
                connector = api.sweep(arr_url=sim.url)
                runs = wait_until(
                    "a sync run succeeds", lambda: api.completed_syncs(connector), 180
                )
            assert runs[0]["fetched"] > 0, runs[0]
            commands = wait_until("a search reaches the simulator", sim.commands, 180)
            record("searches seen by the simulator", len(commands))
            t_stop = time.monotonic()
            podman("stop", "-t", "30", name, timeout=60)
            record("stop s", round(time.monotonic() - t_stop, 1))
            assert podman("inspect", "--format", "{{.State.ExitCode}}", name) == "0", tail(
                podman("logs", name)
            )
            # The same container again: the volume keeps the database and the secret key.
            t_start = time.monotonic()
            podman("start", name)
            wait_until("/health 200 after a restart", lambda: _health(gateway), 180)
            wait_until("the web UI answers after a restart", lambda: _ui_page(ui), 180)
            record("restart to healthy s", round(time.monotonic() - t_start, 1))
            with Api(f"http://127.0.0.1:{gateway}") as again:
                assert again.client.get("/setup/status").json()["setup_required"] is False
                again.setup_or_login()
                (kept,) = [c for c in again.get("/connectors") if c["id"] == connector]
                assert kept["api_key_masked"].endswith(ARR_KEY[-4:])
                assert ARR_KEY not in again.client.get("/connectors").text
                assert again.completed_syncs(connector), "sync history lost across a restart"
        # A new container on the same volume: data outlives the container.
        with container(volume, gateway=gateway, ui=ui) as name:
            wait_until("/health 200 in a new container", lambda: _health(gateway), 180)
            with Api(f"http://127.0.0.1:{gateway}") as fresh:
                fresh.setup_or_login()
                assert [c["id"] for c in fresh.get("/connectors")] == [connector]
            assert http_ok(f"http://127.0.0.1:{gateway}/health/live")
