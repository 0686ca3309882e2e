"""Static checks of deploy/gatherarr/Dockerfile (no Docker engine runs here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "deploy" / "gatherarr" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    parsed = instructions()
    last_from = max(i for i, (k, _) in enumerate(parsed) if k == "FROM")
    return parsed[last_from:]


def test_multi_stage_on_python_311_slim() -> None:
    # Every stage's base is the PYTHON_IMAGE argument (a local base where no registry
    # answers: make image); its default is the registry's Python 3.11 slim image.
    args = dict(a.split("=", 1) for k, a in instructions() if k == "ARG" and "=" in a)
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    froms = [args for k, args in instructions() if k == "FROM"]
    assert len(froms) >= 2
    assert all(f.split()[0] == "${PYTHON_IMAGE}" for f in froms)
    assert "--package gatherarr" in DOCKERFILE.read_text()
    assert "--no-dev" in DOCKERFILE.read_text()


def test_runs_as_numeric_non_root_user() -> None:
    users = [args for k, args in final_stage() if k == "USER"]
    assert users, "final stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_state_volume_and_env_defaults() -> None:
    stage = final_stage()
    volumes = [json.loads(args) for k, args in stage if k == "VOLUME"]
    assert ["/data"] in volumes
    env = " ".join(args for k, args in stage if k == "ENV")
    assert "GATHERARR_STATE_FILE=/data/state.json" in env
    assert "GATHERARR_LISTEN=0.0.0.0:" in env


def test_healthcheck_uses_python_urllib_on_health() -> None:
    checks = [args for k, args in final_stage() if k == "HEALTHCHECK"]
    assert len(checks) == 1
    options, _, cmd = checks[0].partition("CMD")
    assert "--interval=" in options and "--timeout=" in options
    argv = json.loads(cmd.strip())
    assert argv[:2] == ["python", "-c"]
    assert "urllib.request" in argv[2] and "/health" in argv[2]
    assert "curl" not in DOCKERFILE.read_text().split("HEALTHCHECK", 1)[1]


def test_entrypoint_is_the_console_script() -> None:
    entry = [json.loads(args) for k, args in final_stage() if k == "ENTRYPOINT"]
    assert entry == [["gatherarr"]]
    assert ("STOPSIGNAL", "SIGTERM") in final_stage()


def test_dockerignore_keeps_the_context_small() -> None:
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("**") + 1 :][:1] == ["!pyproject.toml"]
    assert "**/.venv" in ignore
