"""The client's default HTTP transport: httpx's interface over aiohttp's connection pool.

httpx's own stack (httpcore over anyio, h11's pure-Python parser) costs about 0.9-1.1 ms of
CPU per request here; aiohttp, with its C parser, about 0.4. The dispatcher sends, polls and
judges each search in two or three requests, and a sync makes one per series, so this is a
large share of what either spends. Only the glue lives here: the request and response are
httpx's, and aiohttp's errors become the httpx errors (with their OS or TLS cause) that
map_transport_error already turns into domain errors.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import httpx
from yarl import URL

# Headers aiohttp computes from the body it sends; httpx's values would be sent twice.
_BODY_HEADERS = frozenset({"content-length", "transfer-encoding"})
_HTTP11 = {"http_version": b"HTTP/1.1"}


def _mapped(exc: Exception) -> httpx.TransportError:
    """The httpx error for an aiohttp one (raised from it, so its cause chain survives)."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(message)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientOSError):
        return httpx.ReadError(message)
    return httpx.NetworkError(message)


class _Body(httpx.AsyncByteStream):
    """A response body read from aiohttp as it arrives; closing it frees the connection."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _mapped(exc) from exc

    async def aclose(self) -> None:
        # Back to the pool when read to the end; closed otherwise.
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport sending through one aiohttp session (made on first use, inside
    the event loop). tls gives the TLS setting for an https URL: a context or False (no
    verification); it is called only then, so a plain-HTTP connector loads no CA bundle.
    A connector behind a proxy the environment names gets httpx's own transport instead
    (ArrClient chooses)."""

    def __init__(
        self, *, tls: Callable[[], ssl.SSLContext | bool], max_connections: int = 100
    ) -> None:
        self._tls = tls
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self, url: httpx.URL) -> aiohttp.ClientSession:
        tls: ssl.SSLContext | bool = self._tls() if url.scheme == "https" else True
        connector = aiohttp.TCPConnector(
            ssl=tls, limit=self._max_connections, keepalive_timeout=5.0
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # httpx keeps the cookies and decodes the body; aiohttp only carries bytes.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send request and answer as soon as the status line and headers are in."""
        session = self._session or self._open(request.url)
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        headers = [
            (k, v) for k, v in request.headers.multi_items() if k.lower() not in _BODY_HEADERS
        ]
        body = await request.aread()
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _mapped(exc) from exc
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            extensions={**_HTTP11, "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
