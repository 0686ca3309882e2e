"""Render the kustomize dev overlay into what `podman kube play` (4.3) runs on one host.

    kubectl kustomize deploy/kubernetes/overlays/dev \\
      | python3 deploy/podman/kube_local.py --work /tmp/comradarr-kube > /tmp/comradarr-kube.yaml
    podman kube play /tmp/comradarr-kube.yaml      # ... podman kube down /tmp/comradarr-kube.yaml

Every Deployment and StatefulSet stays its own pod, with its image, args, security context
(non-root user, read-only root file system, no capabilities) and environment. What changes,
because podman is not a cluster:

- the pods use the host's network and each server its own free port on 127.0.0.1 (no
  Services, no cluster DNS): DATABASE_URL and NATS_URL point there;
- Secrets and ConfigMaps referenced by envFrom are written into each container's env
  (podman 4.3 plays neither kind);
- emptyDir and PersistentVolumeClaim templates become hostPath folders under --work, owned by
  the pod's user (podman 4.3 has no emptyDir); StatefulSets become Deployments;
- probes are dropped (podman runs them as systemd timers, absent here), and replicas are 1
  (podman plays one pod per Deployment; several replicas of one service are the distributed
  test's job, `make test-distributed`);
- images: comradarr:dev, postgres:15 and nats:2.10 become the local images of `make image`.
Namespace, Service, NetworkPolicy, PodDisruptionBudget and ServiceAccount are left out.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]

IMAGES = {
    "comradarr": "localhost/comradarr:dev",
    "postgres": "localhost/postgres:15",
    "nats": "localhost/nats:2.10",
}
DROPPED = {"Namespace", "Service", "NetworkPolicy", "PodDisruptionBudget", "ServiceAccount"}


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _image(image: str, images: dict[str, str]) -> str:
    name = image.rsplit("/", 1)[-1].split(":", 1)[0]
    return images.get(name, image)


def _env_from(container: Doc, sources: dict[tuple[str, str], dict[str, str]]) -> None:
    env: dict[str, str] = {}
    for ref in container.pop("envFrom", []):
        kind, body = (
            ("ConfigMap", ref["configMapRef"])
            if "configMapRef" in ref
            else (
                "Secret",
                ref["secretRef"],
            )
        )
        env.update(sources[(kind, body["name"])])
    for item in container.get("env", []):
        env[item["name"]] = str(item["value"])
    container["env"] = [{"name": k, "value": v} for k, v in env.items()]


def _set_env(container: Doc, **values: str) -> None:
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    env.update(values)
    container["env"] = [{"name": k, "value": v} for k, v in env.items()]


def render(docs: list[Doc], *, work: Path, ports: dict[str, int]) -> list[Doc]:
    """The pods-only variant of the rendered overlay (see the module docstring)."""
    sources: dict[tuple[str, str], dict[str, str]] = {}
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            sources[("ConfigMap", doc["metadata"]["name"])] = dict(doc.get("data", {}))
        elif doc["kind"] == "Secret":
            data = dict(doc.get("stringData", {}))
            sources[("Secret", doc["metadata"]["name"])] = data
    pg, nats = ports["postgres"], ports["nats"]
    creds = sources[("Secret", "postgres-dev")]
    sources[("Secret", "comradarr-secrets")].update(
        DATABASE_URL=(
            f"postgresql://{creds['POSTGRES_USER']}:{creds['POSTGRES_PASSWORD']}"
            f"@127.0.0.1:{pg}/{creds['POSTGRES_DB']}"
        ),
        NATS_URL=f"nats://127.0.0.1:{nats}",
    )
    out: list[Doc] = []
    for original in docs:
        if original["kind"] not in {"Deployment", "StatefulSet"}:
            continue
        doc = copy.deepcopy(original)
        name = doc["metadata"]["name"]
        doc["kind"] = "Deployment"
        doc["metadata"].pop("namespace", None)
        spec = doc["spec"]
        claims = spec.pop("volumeClaimTemplates", [])
        spec.pop("serviceName", None)
        spec.pop("strategy", None)
        spec["replicas"] = 1
        pod = spec["template"]["spec"]
        pod["hostNetwork"] = True
        pod.pop("serviceAccountName", None)
        pod.pop("topologySpreadConstraints", None)
        uid = int(pod.get("securityContext", {}).get("runAsUser", 0))
        volumes = [v for v in pod.get("volumes", []) if "emptyDir" not in v]
        local = [v["name"] for v in pod.get("volumes", []) if "emptyDir" in v]
        local += [c["metadata"]["name"] for c in claims]
        for vol in local:
            path = work / name / vol
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, uid, uid) if os.geteuid() == 0 else None
            volumes.append({"name": vol, "hostPath": {"path": str(path), "type": "Directory"}})
        pod["volumes"] = volumes
        for container in pod["containers"]:
            container["image"] = _image(container["image"], IMAGES)
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                container.pop(probe, None)
            container.pop("ports", None)
            _env_from(container, sources)
            if name == "postgres":
                container["args"] = [*container.get("args", []), "-p", str(pg),
                                     "-c", "listen_addresses=127.0.0.1"]  # fmt: skip
            elif name == "nats":
                container["args"] = ["-js", "-sd", "/data", "-a", "127.0.0.1", "-p", str(nats),
                                     "-m", str(ports["nats-monitor"])]  # fmt: skip
            else:
                service = name.removeprefix("comradarr-")
                _set_env(
                    container,
                    HOST="127.0.0.1",
                    GATEWAY_PORT=str(ports[service]),
                    COMRADARR_SERVICE_PORT=str(ports[service]),
                )
        out.append(doc)
    return out


def main(argv: list[str] | None = None) -> int:
    """Read rendered manifests on stdin, write the local variant on stdout, ports on stderr."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for hostPath volumes")
    parser.add_argument("--ports", type=Path, help="write the chosen ports here (JSON)")
    args = parser.parse_args(argv)
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    workloads = [d for d in docs if d["kind"] in {"Deployment", "StatefulSet"}]
    names = [d["metadata"]["name"].removeprefix("comradarr-") for d in workloads]
    ports = {n: free_port() for n in [*names, "nats-monitor"]}
    rendered = render(docs, work=args.work, ports=ports)
    yaml.safe_dump_all(rendered, sys.stdout, sort_keys=False)
    if args.ports:
        args.ports.write_text(json.dumps(ports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
