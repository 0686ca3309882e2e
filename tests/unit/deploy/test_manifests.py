"""Static checks of deploy/: the Dockerfile, the kustomize tree and the Tiltfile.

No Docker engine or cluster is needed. The kustomizations are rendered by a small
Python implementation of the subset of kustomize they use (resources, patches with
strategic-merge-style files, replicas, images, namespace); where a `kubectl` binary is
installed, its own `kubectl kustomize` rendering is compared with ours as well.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from comradarr_settings import CoreSettings, load_settings

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "kubernetes"
BASE = K8S / "base"
OVERLAYS = {"dev": K8S / "overlays" / "dev", "prod": K8S / "overlays" / "prod"}
KUSTOMIZATIONS = {"base": BASE, **OVERLAYS}
DOCKERFILE = DEPLOY / "Dockerfile"
TILTFILE = REPO / "Tiltfile"

# The Secret every pod reads that is created by the operator, not by kustomize.
EXTERNAL_SECRET = "comradarr-secrets"
SHUTDOWN_TIMEOUT_DEFAULT = 20.0
RUN_AS_USER = 10001
SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "patches", "replicas", "images", "namespace"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}
WORKLOADS = {"Deployment", "StatefulSet"}

Doc = dict[str, Any]


# --------------------------------------------------------------------------- render


def _load(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _merge(into: Any, patch: Any) -> Any:
    """Strategic-merge-style: maps merge, lists of named maps merge by name."""
    if isinstance(into, dict) and isinstance(patch, dict):
        out = dict(into)
        for key, value in patch.items():
            out[key] = _merge(into[key], value) if key in into else copy.deepcopy(value)
        return out
    named = (
        isinstance(into, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in [*into, *patch])
    )
    if named:
        out_list = [copy.deepcopy(i) for i in into]
        for item in patch:
            idx = next((n for n, i in enumerate(out_list) if i["name"] == item["name"]), None)
            if idx is None:
                out_list.append(copy.deepcopy(item))
            else:
                out_list[idx] = _merge(out_list[idx], item)
        return out_list
    return copy.deepcopy(patch)


def _pod_spec(doc: Doc) -> Doc | None:
    if doc["kind"] in WORKLOADS:
        spec: Doc = doc["spec"]["template"]["spec"]
        return spec
    return None


def _containers(doc: Doc) -> list[Doc]:
    pod = _pod_spec(doc)
    if pod is None:
        return []
    return [*pod.get("initContainers", []), *pod["containers"]]


def _split_image(image: str) -> tuple[str, str | None]:
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    return name, tag or None


def render(directory: Path) -> list[Doc]:
    """Render one kustomization directory with the subset of kustomize it uses."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED_KEYS
    assert not unsupported, f"{directory}: renderer does not support {unsupported}"
    docs: list[Doc] = []
    for entry in kustomization.get("resources", []):
        target = directory / entry
        docs.extend(render(target) if target.is_dir() else _load(target))
    for patch_entry in kustomization.get("patches", []):
        for patch in _load(directory / patch_entry["path"]):
            key = (patch["kind"], patch["metadata"]["name"])
            matches = [i for i, d in enumerate(docs) if (d["kind"], d["metadata"]["name"]) == key]
            assert len(matches) == 1, f"patch {patch_entry['path']} matches {len(matches)}"
            docs[matches[0]] = _merge(docs[matches[0]], patch)
    for rule in kustomization.get("replicas", []):
        targets = [
            d for d in docs if d["kind"] in WORKLOADS and d["metadata"]["name"] == rule["name"]
        ]
        assert targets, f"replicas: no workload named {rule['name']}"
        for doc in targets:
            doc["spec"]["replicas"] = rule["count"]
    for rule in kustomization.get("images", []):
        for doc in docs:
            for container in _containers(doc):
                name, tag = _split_image(container["image"])
                if name == rule["name"]:
                    new_tag = rule.get("newTag", tag)
                    new_name = rule.get("newName", name)
                    container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name
    if "namespace" in kustomization:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = kustomization["namespace"]
    return docs


def _key(doc: Doc) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Doc]]:
    return {name: render(path) for name, path in KUSTOMIZATIONS.items()}


@pytest.fixture(scope="module")
def services() -> set[str]:
    return {ep.name for ep in metadata.entry_points(group="comradarr.services")}


def _of(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _comradarr_deployments(docs: list[Doc]) -> Iterator[Doc]:
    for doc in docs:
        labels = doc["metadata"].get("labels", {})
        if doc["kind"] == "Deployment" and labels.get("app.kubernetes.io/part-of") == "comradarr":
            yield doc


def _configmap_env(docs: list[Doc]) -> dict[str, str]:
    return {str(k): str(v) for k, v in _of(docs, "ConfigMap")["comradarr-config"]["data"].items()}


ALL = pytest.mark.parametrize("variant", sorted(KUSTOMIZATIONS))


# ----------------------------------------------------------------------- the tree


def test_every_yaml_file_parses_and_is_used() -> None:
    referenced: set[Path] = set()
    for directory in KUSTOMIZATIONS.values():
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
        referenced.add(directory / "kustomization.yaml")
        referenced.update(directory / e for e in kustomization.get("resources", []))
        referenced.update(directory / p["path"] for p in kustomization.get("patches", []))
    files = sorted(K8S.rglob("*.yaml"))
    assert files
    for path in files:
        for doc in _load(path):
            required = {"apiVersion", "kind"} | (
                {"metadata"} if doc["kind"] != "Kustomization" else set()
            )
            assert required <= set(doc), path
    unused = {p for p in files if p.resolve() not in {r.resolve() for r in referenced}}
    # The example Secret is documentation, deliberately kept out of every kustomization.
    assert unused == {BASE / "secret.example.yaml"}


def test_secret_example_documents_the_external_secret() -> None:
    (secret,) = _load(BASE / "secret.example.yaml")
    assert secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == EXTERNAL_SECRET
    assert {"SECRET_KEY", "DATABASE_URL", "NATS_URL"} <= set(secret["stringData"])
    assert "kubectl" in (BASE / "secret.example.yaml").read_text()


@ALL
def test_no_duplicate_objects(rendered: dict[str, list[Doc]], variant: str) -> None:
    keys = [_key(d) for d in rendered[variant]]
    assert len(keys) == len(set(keys))


# ------------------------------------------------------------------ deployments


@ALL
def test_one_deployment_per_installed_service(
    rendered: dict[str, list[Doc]], variant: str, services: set[str]
) -> None:
    by_service = {}
    for doc in _comradarr_deployments(rendered[variant]):
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        assert container["args"][0] == "service" and len(container["args"]) == 2
        assert container["args"][1] in services, container["args"]
        assert doc["metadata"]["name"] == f"comradarr-{container['args'][1]}"
        by_service[container["args"][1]] = doc
    assert set(by_service) == services


@ALL
def test_pods_are_locked_down(rendered: dict[str, list[Doc]], variant: str) -> None:
    for doc in _comradarr_deployments(rendered[variant]):
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        mounts_ok = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True
            assert sc["runAsUser"] == RUN_AS_USER
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert "add" not in sc["capabilities"]
            assert sc["seccompProfile"]["type"] == "RuntimeDefault"
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts_ok >= {mounts["/tmp"], mounts["/data"]}


@ALL
def test_probes_resources_and_grace(rendered: dict[str, list[Doc]], variant: str) -> None:
    env = _configmap_env(rendered[variant])
    shutdown = float(env.get("COMRADARR_SHUTDOWN_TIMEOUT", SHUTDOWN_TIMEOUT_DEFAULT))
    for doc in _comradarr_deployments(rendered[variant]):
        pod = doc["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] > max(shutdown, SHUTDOWN_TIMEOUT_DEFAULT)
        for container in pod["containers"]:
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert container["readinessProbe"]["httpGet"]["path"] == "/health"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                if probe in container:
                    assert container[probe]["httpGet"]["port"] in ports
            # A service run alone serves /health on GATEWAY_PORT if it has an HTTP API
            # (the gateway), else on COMRADARR_SERVICE_PORT.
            gateway = container["args"][1] == "gateway"
            expected = env["GATEWAY_PORT"] if gateway else env["COMRADARR_SERVICE_PORT"]
            assert list(ports.values()) == [int(expected)]
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][section])


@ALL
def test_env_references_exist(rendered: dict[str, list[Doc]], variant: str) -> None:
    docs = rendered[variant]
    configmaps, secrets = set(_of(docs, "ConfigMap")), set(_of(docs, "Secret"))
    for doc in docs:
        for container in _containers(doc):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets | {EXTERNAL_SECRET}
            for var in container.get("env", []):
                assert "valueFrom" not in var or "secretKeyRef" not in var["valueFrom"]


@ALL
def test_configmap_is_valid_non_secret_settings(
    rendered: dict[str, list[Doc]], variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _configmap_env(rendered[variant])
    from comradarr_gateway.config import GatewaySettings

    known = set()
    for name, field in CoreSettings.model_fields.items():
        known.add((field.alias or name).upper())
    known |= {f"COMRADARR_{name}".upper() for name in GatewaySettings.model_fields}
    assert set(env) <= known, set(env) - known
    assert not set(env) & {"SECRET_KEY", "DATABASE_URL", "NATS_URL"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(CoreSettings)
    assert settings.db_pool_min <= settings.db_pool_max
    gateway = load_settings(GatewaySettings)
    assert any(p.is_loopback for p in gateway.trusted_proxies)  # the UI on the same host


@ALL
def test_services_select_pods_and_name_real_ports(
    rendered: dict[str, list[Doc]], variant: str
) -> None:
    docs = rendered[variant]
    for svc in _of(docs, "Service").values():
        pods = [
            d
            for d in docs
            if d["kind"] in WORKLOADS
            and svc["spec"]["selector"].items()
            <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(pods) == 1, svc["metadata"]["name"]
        names = {p["name"] for c in _containers(pods[0]) for p in c["ports"]}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in names
    for doc in _comradarr_deployments(docs):
        svc_ports = {
            p["name"]: p["port"]
            for p in _of(docs, "Service")[doc["metadata"]["name"]]["spec"]["ports"]
        }
        assert svc_ports["metrics"] == 9000
    assert {p["port"] for p in _of(docs, "Service")["comradarr-gateway"]["spec"]["ports"]} == {
        8000,
        9000,
    }


@ALL
def test_gateway_pdb_and_network_policies(rendered: dict[str, list[Doc]], variant: str) -> None:
    docs = rendered[variant]
    gateway = _of(docs, "Deployment")["comradarr-gateway"]
    gateway_labels = gateway["spec"]["template"]["metadata"]["labels"]
    (pdb,) = _of(docs, "PodDisruptionBudget").values()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= gateway_labels.items()
    policies = _of(docs, "NetworkPolicy")
    deny = policies["comradarr-default-deny-ingress"]["spec"]
    assert deny["policyTypes"] == ["Ingress"] and not deny.get("ingress")
    for doc in _comradarr_deployments(docs):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert deny["podSelector"]["matchLabels"].items() <= labels.items()
    allowed: set[tuple[str, int]] = set()
    for policy in policies.values():
        selects_gateway = (
            policy["spec"]["podSelector"]["matchLabels"].items() <= gateway_labels.items()
        )
        for rule in policy["spec"].get("ingress", []):
            sources = rule.get("from")
            for port in rule["ports"]:
                if sources is None:
                    assert selects_gateway and port["port"] == 8000
                    allowed.add(("anywhere", port["port"]))
                else:
                    (source,) = sources
                    ns = source["namespaceSelector"]["matchLabels"]
                    assert ns == {"kubernetes.io/metadata.name": "monitoring"}
                    allowed.add(("monitoring", port["port"]))
    assert allowed == {("anywhere", 8000), ("monitoring", 9000)}


# --------------------------------------------------------------------- overlays


def test_dev_overlay_brings_postgres_and_nats(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["dev"]
    statefulsets = _of(docs, "StatefulSet")
    assert set(statefulsets) == {"postgres", "nats"}
    (pg,) = statefulsets["postgres"]["spec"]["template"]["spec"]["containers"]
    (nats,) = statefulsets["nats"]["spec"]["template"]["spec"]["containers"]
    assert pg["image"] == "postgres:15"
    assert nats["image"] == "nats:2.10" and "-js" in nats["args"]
    for sts in statefulsets.values():
        assert sts["spec"]["volumeClaimTemplates"]
        (container,) = sts["spec"]["template"]["spec"]["containers"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert {"readinessProbe", "livenessProbe"} <= set(container)
    deployments = _of(docs, "Deployment")
    assert deployments["comradarr-dispatcher"]["spec"]["replicas"] == 2
    assert deployments["comradarr-sync"]["spec"]["replicas"] == 2
    secret = _of(docs, "Secret")[EXTERNAL_SECRET]["stringData"]
    services = _of(docs, "Service")
    db, bus = urlsplit(secret["DATABASE_URL"]), urlsplit(secret["NATS_URL"])
    pg_secret = _of(docs, "Secret")["postgres-dev"]["stringData"]
    assert (db.hostname, db.username, db.password, db.path) == (
        "postgres",
        pg_secret["POSTGRES_USER"],
        pg_secret["POSTGRES_PASSWORD"],
        "/" + pg_secret["POSTGRES_DB"],
    )
    assert db.port in {p["port"] for p in services["postgres"]["spec"]["ports"]}
    assert bus.hostname == "nats"
    assert bus.port in {p["port"] for p in services["nats"]["spec"]["ports"]}
    assert len(secret["SECRET_KEY"]) >= 32
    assert all(
        d["metadata"].get("namespace") == "comradarr-dev" for d in docs if d["kind"] != "Namespace"
    )


def test_prod_overlay_expects_external_servers(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["prod"]
    assert not _of(docs, "StatefulSet")
    assert not _of(docs, "Secret"), "prod secrets are created by the operator"
    deployments = _of(docs, "Deployment")
    assert deployments["comradarr-gateway"]["spec"]["replicas"] == 2
    assert deployments["comradarr-gateway"]["spec"]["template"]["spec"]["topologySpreadConstraints"]
    for doc in _comradarr_deployments(docs):
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        name, tag = _split_image(container["image"])
        assert "/" in name and tag not in {None, "latest"}, container["image"]


# ------------------------------------------------------------------- kustomize


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl to compare with")
def test_real_kustomize_renders_the_same(rendered: dict[str, list[Doc]]) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    # Both at once: each run is mostly kubectl's start-up time.
    procs = {
        name: subprocess.Popen(
            [kubectl, "kustomize", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, path in OVERLAYS.items()  # each overlay includes the base
    }
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        theirs = {_key(d): d for d in yaml.safe_load_all(out) if d}
        ours = {_key(d): d for d in rendered[name]}
        assert theirs == ours, name


# ------------------------------------------------------------------ Dockerfile


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_runtime_stage() -> None:
    instructions = _instructions()
    stages = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    assert len(stages) == 2
    runtime = instructions[stages[-1] :]
    assert "python:3.11-slim" in DOCKERFILE.read_text()
    users = [rest for word, rest in runtime if word == "USER"]
    assert users, "the runtime stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) == RUN_AS_USER and (not gid or int(gid) != 0)
    copies = [rest for word, rest in runtime if word == "COPY"]
    assert copies == ["--from=build /app/.venv /app/.venv", "--from=build /src/ui /app/ui"]
    words = {word for word, _ in runtime}
    assert {"HEALTHCHECK", "VOLUME", "EXPOSE", "ENTRYPOINT", "CMD"} <= words
    (health,) = [rest for word, rest in runtime if word == "HEALTHCHECK"]
    assert "/health/live" in health and "urllib" in health and "curl" not in health
    assert "GATEWAY_PORT" in health
    assert dict(runtime)["ENTRYPOINT"] == '["comradarr"]'
    assert dict(runtime)["CMD"] == '["up"]'
    assert set(dict(runtime)["EXPOSE"].split()) == {"8000", "3000", "9000"}
    assert "/data" in dict(runtime)["VOLUME"]
    env = " ".join(rest for word, rest in runtime if word == "ENV")
    assert "COMRADARR_DATA_DIR=/data" in env


def test_dockerfile_has_no_secrets_and_copies_only_sources() -> None:
    instructions = _instructions()
    assert not any(word == "ADD" for word, _ in instructions), "use COPY, never ADD (no ADD http)"
    for word, rest in instructions:
        if word in {"ENV", "ARG"}:
            keys = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", rest) or [rest.split()[0]]
            for key in keys:
                assert not re.search(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|NATS_URL", key), key
    sources: list[str] = []
    for word, rest in instructions:
        if word == "COPY" and not rest.startswith("--from"):
            *srcs, _dest = rest.split()
            sources.extend(srcs)
    assert "uv.lock" in sources
    assert {s.rstrip("/") for s in sources} == {
        "pyproject.toml",
        "uv.lock",
        "libs",
        "proto",
        "services",
        "ui",
    }
    for src in sources:
        assert (REPO / src).exists(), src
    runs = " ".join(rest for word, rest in instructions if word == "RUN")
    assert "uv sync --frozen --no-dev --no-editable" in runs
    assert "pip install" in runs


# -------------------------------------------------------------------- Tiltfile


def test_tiltfile_points_at_real_things(rendered: dict[str, list[Doc]], services: set[str]) -> None:
    text = TILTFILE.read_text()
    assert "dockerfile='deploy/Dockerfile'" in text
    (overlay,) = re.findall(r"kustomize\('([^']+)'\)", text)
    assert (REPO / overlay).resolve() == OVERLAYS["dev"].resolve()
    (only,) = re.findall(r"only=\[([^\]]*)\]", text)
    for path in re.findall(r"'([^']+)'", only):
        assert (REPO / path).exists(), path
    (listed,) = re.findall(r"SERVICES = \[([^\]]*)\]", text)
    assert set(re.findall(r"'([^']+)'", listed)) == services
    workloads = {d["metadata"]["name"] for d in rendered["dev"] if d["kind"] in WORKLOADS}
    named = set(re.findall(r"k8s_resource\('([^']+)'", text))
    assert named and named <= workloads
    objects = {_key(d) for d in rendered["dev"]}
    for selector in re.findall(r"'([\w-]+:[a-z]+)'", text):
        name, kind = selector.split(":")
        assert any(k.lower() == kind and n == name for k, n in objects), selector
    images = {c["image"].split(":")[0] for d in rendered["dev"] for c in _containers(d)}
    assert "comradarr" in images, "Tilt's docker_build('comradarr') must match the dev image"
