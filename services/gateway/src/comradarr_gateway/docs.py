"""The OpenAPI document with its security schemes, and /docs served with no internet access.

Swagger UI's files come from the fastapi-offline wheel (no CDN); the page loads them, and
its start-up script, from this server only, so its Content-Security-Policy allows 'self'
and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import cache
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response

DOCS_PATH = "/docs"
# Only the docs page and its assets may load scripts and styles from this server.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_STATIC = Path(fastapi_offline.__file__).parent / "static"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
    "init.js": "text/javascript; charset=utf-8",
}
# Relative URLs: the page works at /docs and under a BASE_URL (/comradarr/docs) alike; no
# validator badge (it would call a public validator service).
_INIT_JS = b"""window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  validatorUrl: null,
});
"""
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} API</title>
<link rel="icon" type="image/png" href="docs/assets/favicon.png">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/init.js"></script>
</body>
</html>
"""

SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key (Settings > API keys). Read-only keys may only GET.",
    },
    "Session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "comradarr_session",
        "description": "The session cookie POST /api/v1/auth/login sets.",
    },
    "CsrfToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "With a session, every write sends the csrf_token the login returned.",
    },
    "WebhookBasic": {
        "type": "http",
        "scheme": "basic",
        "description": "An *arr app's webhook: any user name, the connector's webhook token as "
        "the password.",
    },
    "WebhookToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Comradarr-Token",
        "description": "An *arr app's webhook: the connector's webhook token.",
    },
}
_READS = {"get", "head", "options"}


@cache
def _asset(name: str) -> bytes:
    return _INIT_JS if name == "init.js" else (_STATIC / name).read_bytes()


def docs_router(title: str) -> APIRouter:
    """GET /docs and its assets (public: they hold no data; calls need a key or session)."""
    router = APIRouter(include_in_schema=False)

    @router.get(DOCS_PATH)
    async def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE.format(title=title))

    @router.get(DOCS_PATH + "/assets/{name}")
    async def asset(name: str) -> Response:
        if name not in _ASSETS:  # a fixed list: no path reaches the file system
            raise HTTPException(404, "Not Found")
        return Response(_asset(name), media_type=_ASSETS[name])

    return router


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def _common_errors(operation: dict[str, Any]) -> None:
    """Answers any operation can give before its handler runs (the gateway's middleware)."""
    responses = operation.setdefault("responses", {})
    responses.setdefault(
        "400",
        _error(
            "Malformed request: a body that does not parse, or a "
            "NUL or control character in the URL"
        ),
    )
    if "requestBody" in operation:
        responses.setdefault("413", _error("Request body too large"))


def declare_security(
    app: FastAPI, *, is_public: Callable[[str], bool], servers: Collection[str] = ()
) -> None:
    """Make app.openapi() declare the security schemes and each operation's requirement."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        if servers:
            schema["servers"] = [{"url": url} for url in servers]
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                _common_errors(operation)
                if "security" in operation:
                    continue  # declared by its route (a webhook's own token)
                if is_public(path):
                    operation["security"] = []
                elif method in _READS:
                    operation["security"] = [{"ApiKey": []}, {"Session": []}]
                else:
                    operation["security"] = [{"ApiKey": []}, {"Session": [], "CsrfToken": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
