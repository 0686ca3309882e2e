"""Offline validation of what deploy/ ships: hadolint on every Dockerfile, and the
rendered Kubernetes objects (dev, prod and the kube play variant) against the API schemas
of kubernetes-validate (strict: unknown fields fail). No daemon, no cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.containers.support import REPO, free_port
from tests.containers.test_kube_play import _module, _overlay

pytestmark = pytest.mark.containers

TOOLS = REPO / ".build" / "tools" / "bin"
DOCKERFILES = [
    REPO / "deploy" / "Dockerfile",
    REPO / "deploy" / "gatherarr" / "Dockerfile",
    REPO / "deploy" / "podman" / "postgres.Containerfile",
    REPO / "deploy" / "podman" / "nats.Containerfile",
]


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_hadolint_finds_nothing() -> None:
    proc = _tool(str(TOOLS / "hadolint"), *map(str, DOCKERFILES))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rendered_manifests_match_the_kubernetes_schemas(tmp_path: Path) -> None:
    renderer = _module(REPO / "tests" / "unit" / "deploy" / "test_manifests.py", "manifests")
    kube_local = _module(REPO / "deploy" / "podman" / "kube_local.py", "kube_local")
    files = []
    for name in ("dev", "prod"):
        docs = renderer.render(REPO / "deploy" / "kubernetes" / "overlays" / name)
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(yaml.safe_dump_all(docs))
    dev = _overlay()
    workloads = [d for d in dev if d["kind"] in {"Deployment", "StatefulSet"}]
    names = [d["metadata"]["name"].removeprefix("comradarr-") for d in workloads]
    ports = {n: free_port() for n in [*names, "nats-monitor"]}
    local = kube_local.render(dev, work=tmp_path / "work", ports=ports)
    files.append(tmp_path / "play.yaml")
    files[-1].write_text(yaml.safe_dump_all(local))
    files.append(REPO / "deploy" / "kubernetes" / "base" / "secret.example.yaml")
    proc = _tool(str(TOOLS / "kubernetes-validate"), "--strict", "-k", "1.30.0", *map(str, files))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "passed" in proc.stdout + proc.stderr
