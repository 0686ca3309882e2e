"""The web UI (Reflex) as a child process of `comradarr up`."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import structlog
from comradarr_settings import CoreSettings

from ._ui_prebuilt import prebuilt_ui_dir, serve_prebuilt

log = structlog.get_logger(__name__)


def _ui_dir() -> Path | None:
    """The folder holding rxconfig.py: COMRADARR_UI_DIR, else beside the installed package."""
    configured = os.environ.get("COMRADARR_UI_DIR")
    if configured:
        return Path(configured)
    try:
        import comradarr_ui
    except ImportError:
        return None
    folder = Path(comradarr_ui.__file__).resolve().parent.parent
    return folder if (folder / "rxconfig.py").exists() else None


def _toolchain() -> ModuleType | None:
    """comradarr_ui.toolchain: Node.js and bun from their PyPI wheels."""
    try:
        return importlib.import_module("comradarr_ui.toolchain")
    except ImportError:
        return None


class UiProcess:
    """`reflex run --env prod --single-port` on PORT, talking to the local gateway."""

    def __init__(self, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM the UI's process group (Reflex runs bun/node children), then SIGKILL."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


def start_ui(settings: CoreSettings) -> UiProcess | None:
    """Start the UI unless COMRADARR_UI=off or it is not installed (then say how)."""
    if os.environ.get("COMRADARR_UI", "auto").lower() in {"off", "0", "false", "no"}:
        log.info("web UI disabled (COMRADARR_UI=off)")
        return None
    if (prebuilt := prebuilt_ui_dir()) is not None:  # a container image: built already
        return UiProcess(*serve_prebuilt(settings, prebuilt))
    ui_dir = _ui_dir()
    reflex = Path(sys.executable).parent / "reflex"
    if ui_dir is None or not reflex.exists():
        log.warning("web UI not installed; the REST API still runs", hint="make ui-install")
        return None
    toolchain = _toolchain()
    problem = "comradarr_ui.toolchain missing" if toolchain is None else toolchain.missing()
    if problem or toolchain is None:
        log.warning("web UI cannot build; the REST API still runs", problem=problem)
        return None
    env: dict[str, str] = {
        **toolchain.environ(),
        "COMRADARR_GATEWAY_URL": f"http://127.0.0.1:{settings.gateway_port}",
        "COMRADARR_UI_PORT": str(settings.port),
        "COMRADARR_UI_BACKEND_PORT": str(settings.port),
    }
    env.setdefault("COMRADARR_UI_API_URL", f"http://127.0.0.1:{settings.port}")
    log_path = settings.data_dir / "ui.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [str(reflex), "run", "--env", "prod", "--single-port"],
            cwd=ui_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )
    base = "" if settings.base_url == "/" else settings.base_url
    log.info(
        "web UI starting (first build takes a minute)",
        url=f"http://127.0.0.1:{settings.port}{base}/",
        log=str(log_path),
    )
    return UiProcess(proc, log_path)
