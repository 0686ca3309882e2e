"""The kustomize dev overlay played with `podman kube play`: one pod per service, PostgreSQL
and NATS from the overlay (local stand-in images), a sweep of a simulator across the pods.

The overlay is rendered by `kubectl kustomize` where kubectl exists, else by the unit tests'
renderer of the same subset (which those tests compare with kubectl's), then made playable
on one host by deploy/podman/kube_local.py (host network, hostPath for emptyDir, env from
the Secret and ConfigMap; see its docstring).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml

from tests.containers.support import (
    IMAGE,
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

DEV = REPO / "deploy" / "kubernetes" / "overlays" / "dev"


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _overlay() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run(
            [kubectl, "kustomize", str(DEV)], capture_output=True, text=True, check=True
        ).stdout
        return [d for d in yaml.safe_load_all(out) if d]
    renderer = _module(REPO / "tests" / "unit" / "deploy" / "test_manifests.py", "manifests")
    docs: list[dict[str, Any]] = renderer.render(DEV)
    return docs


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="comradarr-kube-"))
    path.chmod(0o755)  # the pods' users (999, 1000, 10001) reach their hostPath folders
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.timeout(900)
def test_dev_overlay_plays_with_one_pod_per_service(work: Path, tmp_path: Path) -> None:
    for image in (IMAGE, "localhost/postgres:15", "localhost/nats:2.10"):
        require_image(image)
    kube_local = _module(REPO / "deploy" / "podman" / "kube_local.py", "kube_local")
    docs = _overlay()
    workloads = [d for d in docs if d["kind"] in {"Deployment", "StatefulSet"}]
    names = [d["metadata"]["name"].removeprefix("comradarr-") for d in workloads]
    ports = {n: free_port() for n in [*names, "nats-monitor"]}
    play = work / "play.yaml"
    play.write_text(yaml.safe_dump_all(kube_local.render(docs, work=work, ports=ports)))
    gateway = ports["gateway"]
    started = time.monotonic()
    try:
        podman("kube", "play", str(play), timeout=300)
        pods = podman("pod", "ps", "--format", "{{.Name}}").split()
        # podman names a Deployment's pod NAME-pod-0: one pod per workload.
        mine = sorted(p for p in pods if p.rsplit("-pod", 1)[0] in {
            d["metadata"]["name"] for d in workloads
        })  # fmt: skip
        assert len(mine) == len(workloads), (workloads, pods)
        record("kube play pods", mine)

        def all_healthy() -> bool:
            return all(
                httpx.get(f"http://127.0.0.1:{ports[n]}/health", timeout=3).status_code == 200
                for n in names
                if n not in ("postgres", "nats")
            )

        wait_until("every service pod healthy", all_healthy, 300, 2)
        record("kube play to all healthy s", round(time.monotonic() - started, 1))
        (gw_pod,) = [p for p in mine if p.startswith("comradarr-gateway-pod")]
        gw_ctr = podman("ps", "--format", "{{.Names}}", "--filter", f"pod={gw_pod}")
        (gw_name,) = [n for n in gw_ctr.split() if "infra" not in n]
        assert podman("exec", gw_name, "id", "-u") == "10001"
        with (
            simulator(log=tmp_path / "sonarr.log", series=10, command_duration=0.2) as sim,
            Api(f"http://127.0.0.1:{gateway}") as api,
        ):
            api.setup_or_login()
            connector = api.sweep(arr_url=sim.url)
            wait_until("a sync run succeeds", lambda: api.completed_syncs(connector), 240)
            commands = wait_until("a search reaches the simulator", sim.commands, 240)
            record("kube play sweep to first search s", round(time.monotonic() - started, 1))
            assert commands
    finally:
        logs = tmp_path / "pods"
        logs.mkdir(exist_ok=True)
        for name in podman("ps", "-a", "--format", "{{.Names}}", check=False).split():
            if name.startswith("comradarr-") or name.startswith(("postgres-", "nats-")):
                (logs / f"{name}.log").write_text(podman("logs", name, check=False))
        artifacts = Path(__file__).with_name("artifacts")
        shutil.copytree(logs, artifacts / "kube", dirs_exist_ok=True)
        podman("kube", "down", str(play), check=False, timeout=300)
