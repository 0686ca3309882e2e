"""Helpers for the container tests: podman, free loopback ports, a simulator, the gateway API.

Every container runs with the host's network (`--network host`) so that all traffic stays on
127.0.0.1; each test picks free ports for what it starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IMAGE = os.environ.get("IMAGE", "localhost/comradarr:dev")
GATHERARR_IMAGE = os.environ.get("GATHERARR_IMAGE", "localhost/gatherarr:dev")
ARR_KEY = "containers-sonarr-key-0123456789abcdef"
ADMIN = {"username": "admin", "password": "containers correct horse battery staple"}
PODMAN_ENV = {
    **os.environ,
    "CONTAINERS_CONF": os.environ.get(
        "CONTAINERS_CONF", str(REPO / "deploy" / "podman" / "containers.conf")
    ),
}


def podman(*args: str, check: bool = True, timeout: float = 120) -> str:
    """Run podman; return its stdout (stripped)."""
    proc = subprocess.run(
        ["podman", *args], capture_output=True, text=True, env=PODMAN_ENV, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def require_image(image: str) -> None:
    """Fail (not skip) when podman or the image is missing: `make test-containers` builds it."""
    assert shutil.which("podman"), "podman missing: make containers-install"
    exists = subprocess.run(["podman", "image", "exists", image], env=PODMAN_ENV)
    assert exists.returncode == 0, f"{image} missing: make image"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, check: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
    """Call check until it returns something truthy; fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, OSError, ValueError, KeyError):
            last = check()
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=3).status_code == 200


@dataclass
class Simulator:
    """An *arr simulator (`comradarr arrsim`) on 127.0.0.1, a process of this test."""

    url: str
    proc: subprocess.Popen[bytes]

    def requests(self) -> list[dict[str, Any]]:
        body = httpx.get(f"{self.url}/__sim/requests", timeout=10).json()
        records: list[dict[str, Any]] = body["requests"]
        return records

    def commands(self) -> list[dict[str, Any]]:
        """The search commands it received (POST /api/v3/command)."""
        return [
            r for r in self.requests() if r["method"] == "POST" and r["path"].endswith("/command")
        ]

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.url}/__sim/state", timeout=10).json()
        return data


@contextlib.contextmanager
def simulator(kind: str = "sonarr", *, log: Path, **options: Any) -> Iterator[Simulator]:
    """Start `comradarr arrsim` on a free port; stopped on exit."""
    port = free_port()
    args = [str(BIN / "comradarr"), "arrsim", "--type", kind, "--port", str(port)]
    args += ["--api-key", ARR_KEY]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    sim = Simulator(url=f"http://127.0.0.1:{port}", proc=proc)
    try:
        wait_until("simulator /ping", lambda: http_ok(f"{sim.url}/ping"), 60, 0.3)
        yield sim
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


class Api:
    """A signed-in session of the gateway's REST API."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=f"{base}/api/v1", timeout=30)
        self.csrf = ""

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def setup_or_login(self) -> None:
        status = self.client.get("/setup/status").json()
        path = "/setup" if status["setup_required"] else "/auth/login"
        resp = self.client.post(path, json=ADMIN)
        assert resp.status_code in (200, 201), resp.text
        self.csrf = resp.json()["csrf_token"]

    def get(self, path: str) -> Any:
        resp = self.client.get(path)
        assert resp.status_code == 200, f"GET {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = self.client.post(path, json=body or {}, headers={"X-CSRF-Token": self.csrf})
        assert resp.status_code in (200, 201, 202), f"POST {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def sweep(self, *, arr_url: str, name: str = "sonarr") -> int:
        """Add a Sonarr connector (saving it starts its first full sweep and creates its
        schedules), or sync an existing one now; return the connector id."""
        existing = [c for c in self.get("/connectors") if c["name"] == name]
        if not existing:
            connector = self.post(
                "/connectors",
                {"type": "sonarr", "name": name, "url": arr_url, "api_key": ARR_KEY},
            )
            return int(connector["id"])
        cid = int(existing[0]["id"])
        resp = self.client.post(
            f"/connectors/{cid}/sync", json={"mode": "full"}, headers={"X-CSRF-Token": self.csrf}
        )
        # 409: a sweep of it is already running, which is what was asked for.
        assert resp.status_code in (202, 409), f"sync now: {resp.status_code} {resp.text}"
        return cid

    def completed_syncs(self, connector_id: int) -> list[dict[str, Any]]:
        runs = self.get(f"/connectors/{connector_id}/sync-runs")["items"]
        return [r for r in runs if r["outcome"] == "success"]


def tail(text: str, n: int = 40) -> str:
    return "\n".join(text.splitlines()[-n:])


def image_size_mb(image: str) -> float:
    return int(podman("image", "inspect", "--format", "{{.Size}}", image)) / 1e6


def record(name: str, value: Any) -> None:
    """Print a figure the CI log should show (pytest -s)."""
    print(f"[containers] {name}: {json.dumps(value)}", flush=True)
