"""deploy/compose.yaml and compose.servers.yaml: validated offline, then run with podman-compose.

The run adds deploy/podman/compose.host.yaml (and compose.servers.host.yaml): the local images
and the host's network, every server on 127.0.0.1 at a free port. The user's files are used
as they are otherwise: volumes, read-only root, init, user, stop grace period.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.containers.support import (
    IMAGE,
    PODMAN_ENV,
    REPO,
    Api,
    free_port,
    podman,
    record,
    require_image,
    simulator,
    wait_until,
)

pytestmark = pytest.mark.containers

DEPLOY = REPO / "deploy"
TOOLS = REPO / ".build" / "tools" / "bin"
ALL_IN_ONE = [DEPLOY / "compose.yaml", DEPLOY / "podman" / "compose.host.yaml"]
SERVERS = [
    DEPLOY / "compose.servers.yaml",
    DEPLOY / "podman" / "compose.host.yaml",
    DEPLOY / "podman" / "compose.servers.host.yaml",
]


def _run(tool: str, *args: str, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(
        [str(TOOLS / tool), *args], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert proc.returncode == 0, f"{tool} {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _env(**extra: str) -> dict[str, str]:
    return {
        **PODMAN_ENV,
        "COMRADARR_IMAGE": IMAGE,
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "SECRET_KEY": secrets.token_urlsafe(40),
        **extra,
    }


def test_compose_files_validate_offline() -> None:
    env = _env(TEST_GATEWAY_PORT="1", TEST_UI_PORT="2", TEST_POSTGRES_PORT="3", TEST_NATS_PORT="4")
    for files in ([ALL_IN_ONE[0]], [SERVERS[0]], ALL_IN_ONE, SERVERS):
        args = [a for f in files for a in ("-f", str(f))]
        _run("docker-compose", *args, "config", "-q", env=env)
    schema = ["--builtin-schema", "vendor.compose-spec"]
    _run("check-jsonschema", *schema, str(ALL_IN_ONE[0]), str(SERVERS[0]), env=env)
    for path in (ALL_IN_ONE[0], SERVERS[0]):
        service = yaml.safe_load(path.read_text())["services"]["comradarr"]
        assert service["init"] is True and service["read_only"] is True
        assert service["user"] == "10001:10001"
        assert "comradarr-data:/data" in service["volumes"]
    # Without the secrets the user must set, the servers variant refuses to start.
    bare = {k: v for k, v in env.items() if k not in ("POSTGRES_PASSWORD", "SECRET_KEY")}
    proc = subprocess.run(
        [str(TOOLS / "docker-compose"), "-f", str(SERVERS[0]), "config", "-q"],
        capture_output=True,
        text=True,
        env=bare,
    )
    assert proc.returncode != 0 and "SECRET_KEY" in proc.stderr + proc.stdout


@contextlib.contextmanager
def project(files: list[Path], env: dict[str, str]) -> Iterator[list[str]]:
    """`podman-compose up -d`; on exit `down -v` (containers and volumes gone)."""
    base = ["-p", f"ctest{uuid.uuid4().hex[:8]}", *[a for f in files for a in ("-f", str(f))]]
    try:
        _run("podman-compose", *base, "up", "-d", env=env)
        yield base
    finally:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            _run("podman-compose", *base, "logs", env=env)
        subprocess.run(
            [str(TOOLS / "podman-compose"), *base, "down", "-v", "-t", "20"],
            capture_output=True,
            env=env,
            timeout=300,
        )


def _ui_answers(ui: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{ui}/ping", timeout=5).status_code == 200 and (
        "<html" in httpx.get(f"http://127.0.0.1:{ui}/", timeout=5).text.lower()
    )


def _healthy(gateway: int) -> bool:
    resp = httpx.get(f"http://127.0.0.1:{gateway}/health", timeout=5)
    return resp.status_code == 200 and resp.json()["status"] == "healthy"


def _sweep_reaches_the_simulator(gateway: int, sim_url: str, sim_commands: object) -> None:
    with Api(f"http://127.0.0.1:{gateway}") as api:
        api.setup_or_login()
        connector = api.sweep(arr_url=sim_url)
        wait_until("a sync run succeeds", lambda: api.completed_syncs(connector), 180)
    wait_until("a search reaches the simulator", sim_commands, 180)  # type: ignore[arg-type]


@pytest.mark.timeout(600)
def test_compose_all_in_one_runs_and_keeps_its_volume(tmp_path: Path) -> None:
    require_image(IMAGE)
    gateway, ui = free_port(), free_port()
    env = _env(TEST_GATEWAY_PORT=str(gateway), TEST_UI_PORT=str(ui))
    with (
        simulator(log=tmp_path / "sonarr.log", series=10, command_duration=0.2) as sim,
        project(ALL_IN_ONE, env) as base,
    ):
        wait_until("/health 200", lambda: _healthy(gateway), 180)
        wait_until("the web UI answers", lambda: _ui_answers(ui), 180)
        _sweep_reaches_the_simulator(gateway, sim.url, sim.commands)
        (name,) = podman(
            "ps", "--format", "{{.Names}}", "--filter", f"label=io.podman.compose.project={base[1]}"
        ).split()
        assert podman("exec", name, "id", "-u") == "10001"
        # down (the volume stays) and up again: the administrator and connector are kept.
        _run("podman-compose", *base, "down", "-t", "20", env=env)
        _run("podman-compose", *base, "up", "-d", env=env)
        wait_until("/health 200 after down/up", lambda: _healthy(gateway), 180)
        with Api(f"http://127.0.0.1:{gateway}") as api:
            api.setup_or_login()
            assert [c["name"] for c in api.get("/connectors")] == ["sonarr"]


@pytest.mark.timeout(600)
def test_compose_with_postgres_and_nats_services_runs_a_sweep(tmp_path: Path) -> None:
    for image in (IMAGE, os.environ.get("POSTGRES_IMAGE", "localhost/postgres:15")):
        require_image(image)
    gateway, ui = free_port(), free_port()
    env = _env(
        TEST_GATEWAY_PORT=str(gateway),
        TEST_UI_PORT=str(ui),
        TEST_POSTGRES_PORT=str(free_port()),
        TEST_NATS_PORT=str(free_port()),
    )
    with (
        simulator(log=tmp_path / "sonarr.log", series=10, command_duration=0.2) as sim,
        project(SERVERS, env) as base,
    ):
        wait_until("/health 200", lambda: _healthy(gateway), 240)
        wait_until("the web UI answers", lambda: _ui_answers(ui), 180)
        names = podman(
            "ps", "--format", "{{.Names}}", "--filter", f"label=io.podman.compose.project={base[1]}"
        ).split()
        assert len(names) == 3, names
        record("compose servers variant containers", sorted(names))
        _sweep_reaches_the_simulator(gateway, sim.url, sim.commands)
