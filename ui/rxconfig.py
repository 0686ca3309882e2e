"""Reflex configuration for the Comradarr web UI.

Offline-friendly: telemetry is off, and Node.js and bun are the PyPI wheels pinned in
uv.lock (``comradarr_ui.toolchain``): no node, npm or bun on the machine is needed, and
Reflex never downloads its own bun. The frontend's npm packages come from the npm registry
at ``make ui-install``, pinned by ``reflex.lock/bun.lock``.
"""

from __future__ import annotations

import os

import reflex as rx
from comradarr_ui import toolchain

toolchain.apply()
os.environ.setdefault("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org")

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
