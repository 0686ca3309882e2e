"""The web UI of a container image: its frontend built into the image, served as it is.

The image builds the frontend once (deploy/Dockerfile) and sets COMRADARR_UI_PREBUILT to
the UI folder it left, which holds no Node.js packages. At run time nothing is installed or
built: Reflex's production backend serves the compiled pages and the UI's events on PORT.
That backend writes a few files under .web when it starts, and the image's root file
system is read-only, so it runs from a fresh copy of the folder (a few MB) in a temporary
directory, made anew at every start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import structlog
from comradarr_settings import CoreSettings

log = structlog.get_logger(__name__)

PREBUILT_ENV = "COMRADARR_UI_PREBUILT"
# Reflex's own switches for its production backend (internal ones carry "__"): serve the
# compiled frontend, skip compiling. tests/unit/ui checks the names against Reflex's.
REFLEX_RUN_ENV = {
    "REFLEX_ENV_MODE": "prod",
    "__REFLEX_SKIP_COMPILE": "true",
    "__REFLEX_MOUNT_FRONTEND_COMPILED_APP": "true",
    "REFLEX_TELEMETRY_ENABLED": "false",
}


def prebuilt_ui_dir() -> Path | None:
    """The image's prebuilt UI folder (COMRADARR_UI_PREBUILT), if it is set and exists."""
    configured = os.environ.get(PREBUILT_ENV)
    if not configured:
        return None
    folder = Path(configured)
    if not (folder / ".web" / "build").is_dir():
        log.warning("COMRADARR_UI_PREBUILT has no frontend build", folder=str(folder))
        return None
    return folder


def serve_prebuilt(settings: CoreSettings, folder: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Start Reflex's production backend on PORT over a copy of folder; (process, log)."""
    run_dir = Path(tempfile.mkdtemp(prefix="comradarr-ui-"))
    shutil.copytree(folder, run_dir / "ui", symlinks=True)
    env = {
        **os.environ,
        **REFLEX_RUN_ENV,
        "COMRADARR_GATEWAY_URL": f"http://127.0.0.1:{settings.gateway_port}",
        "COMRADARR_UI_PORT": str(settings.port),
        "COMRADARR_UI_BACKEND_PORT": str(settings.port),
    }
    log_path = settings.data_dir / "ui.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # As Reflex's own prod backend runs it (uvicorn calling the app factory), one worker.
    args = [
        sys.executable, "-m", "uvicorn", "--factory", "comradarr_ui.comradarr_ui:app",
        "--host", settings.host, "--port", str(settings.port), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            args,
            cwd=run_dir / "ui",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    log.info("web UI starting (built into the image)", port=settings.port, log=str(log_path))
    return proc, log_path
