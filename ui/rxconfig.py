"""Reflex configuration for the Comradarr web UI.

Offline-friendly: telemetry is off and bun comes from the npm registry (``make ui-install``
puts it under ``ui/.tools``); ``REFLEX_BUN_PATH`` overrides the path.
"""

from __future__ import annotations

import os
from pathlib import Path

import reflex as rx

_HERE = Path(__file__).resolve().parent
_BUN = _HERE / ".tools" / "node_modules" / "bun" / "bin" / "bun.exe"

os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org")
if _BUN.exists():
    os.environ.setdefault("REFLEX_BUN_PATH", str(_BUN))

_frontend_port = int(os.environ.get("COMRADARR_UI_PORT", "3000"))
_backend_port = int(os.environ.get("COMRADARR_UI_BACKEND_PORT", "8001"))
# BASE_URL (e.g. /comradarr, behind a reverse proxy): the pages and the backend's event
# socket are served under it. The API URL is the public origin; Reflex appends the path.
_base = os.environ.get("BASE_URL", "/").strip().rstrip("/")
_api_url = os.environ.get("COMRADARR_UI_API_URL", f"http://127.0.0.1:{_backend_port}").rstrip("/")
if _base and _api_url.endswith(_base):
    _api_url = _api_url[: -len(_base)]

config = rx.Config(
    app_name="comradarr_ui",
    telemetry_enabled=False,
    frontend_port=_frontend_port,
    backend_port=_backend_port,
    api_url=_api_url,
    frontend_path=_base,
    backend_path=_base,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", gray_color="slate", radius="large")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
