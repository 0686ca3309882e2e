"""The UI builds with the Node.js and bun wheels of uv.lock, never with the machine's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from comradarr_ui import toolchain
from packaging.version import Version
from reflex_base.constants.installer import Bun, Node


def _version(binary: str) -> Version:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    return Version(out.stdout.strip().lstrip("v"))


def test_both_wheels_are_installed() -> None:
    assert toolchain.missing() == ""


def test_the_wheels_come_first_on_the_path_and_satisfy_reflex(tmp_path: Path) -> None:
    # A machine's own node (say an old one in /usr/bin) is shadowed by the wheel's.
    decoy = tmp_path / "node"
    decoy.write_text("#!/bin/sh\necho v1.0.0\n")
    decoy.chmod(0o755)
    env = toolchain.environ({"PATH": f"{tmp_path}:/usr/bin"})
    node = shutil.which("node", path=env["PATH"])
    bun = shutil.which("bun", path=env["PATH"])
    assert node is not None and Path(node).parent == toolchain.node_bin_dir()
    assert bun is not None and Path(bun) == toolchain.bun_path()
    assert env["REFLEX_BUN_PATH"] == bun
    # A "system" bun: Reflex then never runs its bun installer (a download).
    assert env["REFLEX_USE_SYSTEM_BUN"] == "1"
    # Versions Reflex accepts without a warning.
    assert _version(node) >= Version(Node.MIN_VERSION)
    assert _version(bun) >= Version(Bun.MIN_VERSION)
    assert env["PATH"].endswith(f"{tmp_path}:/usr/bin")


def test_environ_keeps_the_rest_and_applies_idempotently() -> None:
    env = toolchain.environ({"PATH": "/usr/bin", "KEEP": "1"})
    again = toolchain.environ(env)
    assert again["PATH"] == env["PATH"] and again["KEEP"] == "1"


def test_a_build_rewrites_package_json_only_when_its_content_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from reflex.utils import frontend_skeleton

    monkeypatch.chdir(tmp_path)
    toolchain.keep_lock_files_tidy()
    toolchain.keep_lock_files_tidy()  # applying twice wraps once
    web, root = tmp_path / ".web", tmp_path / "reflex.lock"
    web.mkdir()
    root.mkdir()
    tracked = '{\n  "name": "reflex",\n  "dependencies": {"react": "19.3.1"}\n}\n'
    (root / "package.json").write_text(tracked)
    (web / "package.json").write_text('{"name": "reflex", "dependencies": {"react": "19.3.1"}}')
    frontend_skeleton.sync_web_lockfiles_to_root()
    assert (root / "package.json").read_text() == tracked  # formatting alone: untouched
    (web / "package.json").write_text('{"name": "reflex", "dependencies": {"react": "20.0.0"}}')
    frontend_skeleton.sync_web_lockfiles_to_root()
    written = (root / "package.json").read_text()
    assert json.loads(written)["dependencies"]["react"] == "20.0.0" and written.endswith("}\n")
