"""File downloads from the gateway, streamed through the UI's backend.

The browser has no gateway session of its own (it lives in backend-only state), so it
cannot fetch a gateway file itself. An event handler opens the gateway request on the
user's behalf, which also surfaces a refused request (422, 404) as a message in the page
instead of a broken file; the open response waits under a random single-use token for a
minute. The browser then fetches /_comradarr/download/<token> from this backend, which
streams the gateway's body through without holding it (a year of CSV rows included).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import reflex as rx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from . import api

ROUTE = "/_comradarr/download"


def _route() -> str:
    """The route under BASE_URL (Reflex's backend_path; the frontend shares the origin)."""
    return rx.config.get_config().prepend_backend_path(ROUTE)


TOKEN_SECONDS = 60.0
_PASSED_HEADERS = ("content-type", "content-disposition", "cache-control")


@dataclass
class _Ready:
    client: httpx.AsyncClient
    response: httpx.Response
    expires: float


_ready: dict[str, _Ready] = {}


async def _close(ready: _Ready) -> None:
    with contextlib.suppress(Exception):
        await ready.response.aclose()
    with contextlib.suppress(Exception):
        await ready.client.aclose()


async def _expire_later(token: str) -> None:
    await asyncio.sleep(TOKEN_SECONDS)
    ready = _ready.pop(token, None)
    if ready is not None:  # never fetched: give the gateway its connection back
        await _close(ready)


_reapers: set[asyncio.Task[None]] = set()


async def prepare(session: api.Session, path: str, params: dict[str, Any]) -> str:
    """Open a gateway download for this session; the URL the browser fetches it from.

    Raises api.GatewayError (with the gateway's message) when the gateway refuses."""
    client = httpx.AsyncClient(base_url=api.gateway_url(), timeout=httpx.Timeout(30.0, read=600.0))
    try:
        request = client.build_request(
            "GET", api.PREFIX + path, params=params, headers=api.request_headers("GET", session)
        )
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        await client.aclose()
        raise api.GatewayError(0, f"cannot reach the gateway ({type(exc).__name__})") from None
    if response.status_code >= 400:
        await response.aread()
        await _close(_Ready(client, response, 0.0))
        if response.status_code == 401:
            raise api.Unauthorized(401, api._detail(response))
        raise api.GatewayError(response.status_code, api._detail(response))
    token = secrets.token_urlsafe(32)
    _ready[token] = _Ready(client, response, time.monotonic() + TOKEN_SECONDS)
    reaper = asyncio.create_task(_expire_later(token))
    _reapers.add(reaper)
    reaper.add_done_callback(_reapers.discard)
    return f"{_route()}/{token}"


async def serve(request: Request) -> Response:
    """Stream a prepared download once; an unknown or used token is gone."""
    ready = _ready.pop(str(request.path_params["token"]), None)
    if ready is None or ready.expires < time.monotonic():
        if ready is not None:
            await _close(ready)
        return PlainTextResponse(
            "This download link has expired or was used; start the export again.",
            status_code=410,
        )

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in ready.response.aiter_bytes():
                yield chunk
        finally:
            await _close(ready)

    headers = {k: v for k, v in ready.response.headers.items() if k.lower() in _PASSED_HEADERS}
    return StreamingResponse(body(), headers=headers)


def download_routes() -> Starlette:
    """The backend routes the app mounts in front of Reflex's own (api_transformer)."""
    return Starlette(routes=[Route(_route() + "/{token}", serve, methods=["GET"])])
