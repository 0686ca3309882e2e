"""Outermost ASGI layer: correlation ids, security headers, body size limit, no 500 details."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from comradarr_logging import correlation_scope, get_logger
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .docs import DOCS_CSP, DOCS_PATH

log = get_logger(__name__)

_CORRELATION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# No route has a control character in its path, and PostgreSQL text cannot hold NUL: such a
# URL is refused before any handler (or the API key usage log) sees it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUL_QUERY = re.compile(rb"%00|\x00")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    # Every answer may depend on who asks: never let a cache keep it.
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"vary", b"Cookie, X-API-Key"),
)
_OWN = {name for name, _ in SECURITY_HEADERS} | {b"server", b"x-correlation-id"}
# The API docs page runs Swagger UI's scripts (from this server only).
_DOCS_HEADERS = tuple(
    (name, DOCS_CSP if name == b"content-security-policy" else value)
    for name, value in SECURITY_HEADERS
)


class BodyTooLargeError(HTTPException):
    """The request body exceeded the configured limit (FastAPI turns it into a 413)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


class GatewayMiddleware:
    """Pure ASGI (so streaming responses pass through untouched)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        base_url: str = "/",
        large_bodies: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Exact route paths allowed a larger body (a backup upload), and their limit.
        self.large_bodies = dict(large_bodies or {})
        self.base = "" if base_url == "/" else base_url.rstrip("/")

    def _route_path(self, scope: Scope) -> str:
        """The path below BASE_URL; a request that came through it gets it as root_path.

        A reverse proxy forwards /comradarr/api/v1/... as it is (no stripping): routing then
        matches /api/v1/... (Starlette removes root_path). Direct calls without the prefix
        (the web UI's own, on loopback) keep working unchanged.
        """
        path: str = scope.get("path", "")
        base = self.base
        if base and (path == base or path.startswith(base + "/")):
            scope["root_path"] = base
            return path[len(base) :] or "/"
        return path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = ""
        length: int | None = None
        for name, value in scope.get("headers", []):
            if name == b"x-correlation-id":
                supplied = value.decode("latin-1")
            elif name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
        cid_in = supplied if _CORRELATION_ID.fullmatch(supplied) else None
        route = self._route_path(scope)
        limit = self.large_bodies.get(route, self.max_body_bytes)
        own = _DOCS_HEADERS if route == DOCS_PATH or route.startswith(DOCS_PATH + "/") else None
        with correlation_scope(cid_in) as cid:
            started = False

            async def send_wrapped(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    headers = [(k, v) for k, v in message.get("headers", []) if k not in _OWN]
                    headers.extend(own or SECURITY_HEADERS)
                    headers.append((b"x-correlation-id", cid.encode()))
                    message = {**message, "headers": headers}
                await send(message)

            received = 0

            async def receive_limited() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise BodyTooLargeError
                return message

            if _CONTROL.search(scope.get("path", "")):
                await _plain(send_wrapped, 400, "the URL contains a NUL or control character")
                return
            query: bytes = scope.get("query_string", b"")
            if _NUL_QUERY.search(query):
                await _send(send_wrapped, 422, {"detail": _nul_parameters(query)})
                return
            if length is not None and (length < 0 or length > limit):
                status = 400 if length < 0 else 413
                detail = "invalid Content-Length" if length < 0 else "request body too large"
                await _plain(send_wrapped, status, detail)
                return
            try:
                await self.app(scope, receive_limited, send_wrapped)
            except BodyTooLargeError:
                if not started:
                    await _plain(send_wrapped, 413, "request body too large")
            except Exception:
                # Logged with the traceback; the client learns nothing about internals.
                log.exception("unhandled error", path=scope.get("path", ""))
                if not started:
                    await _plain(send_wrapped, 500, "internal server error")


def _nul_parameters(query: bytes) -> list[dict[str, Any]]:
    """Validation errors (FastAPI's shape) naming each query parameter that holds a NUL."""
    text = query.decode("latin-1")
    names = [
        name
        for name, value in parse_qsl(text, keep_blank_values=True)
        if "\x00" in value or "\x00" in name
    ]
    return [
        {
            "loc": ["query", name.replace("\x00", "")],
            "msg": "contains characters that are not allowed (NUL)",
            "type": "value_error",
        }
        for name in names or ["?"]
    ]


async def _plain(send: Any, status: int, detail: str) -> None:
    await _send(send, status, {"detail": detail})


async def _send(send: Any, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
