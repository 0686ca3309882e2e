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
