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

config = rx.Config(
    app_name="comradarr_ui",
    telemetry_enabled=False,
    frontend_port=_frontend_port,
    backend_port=_backend_port,
    api_url=os.environ.get("COMRADARR_UI_API_URL", f"http://127.0.0.1:{_backend_port}"),
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", gray_color="slate", radius="large")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
