"""A deliberately tiny HTTP/1.1 server for /metrics and /health."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from gatherarr._metrics import CONTENT_TYPE, Metrics

_log = structlog.get_logger("gatherarr.http")
_MAX_HEAD = 8192
_READ_TIMEOUT = 5.0


class StatusServer:
    """Serves GET /metrics and GET /health; everything else is 404 or 405."""

    def __init__(self, *, metrics: Metrics, ready: Callable[[], bool]) -> None:
        self.metrics = metrics
        self.ready = ready
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when configured with port 0)."""
        assert self._server is not None and self._server.sockets
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self, *, host: str, port: int) -> None:
        """Bind and start accepting connections."""
        self._server = await asyncio.start_server(self._handle, host=host, port=port)
        _log.debug("status_server_listening", host=host, port=self.port)

    async def close(self) -> None:
        """Stop accepting and close the listening socket."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2.0)
            self._server = None

    def respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for one request."""
        path = path.split("?", 1)[0]
        if path not in ("/metrics", "/health"):
            return 404, "text/plain; charset=utf-8", b"Not Found\n"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain; charset=utf-8", b"Method Not Allowed\n"
        if path == "/metrics":
            return 200, CONTENT_TYPE, self.metrics.render()
        if self.ready():
            return 200, "text/plain; charset=utf-8", b"OK"
        return 503, "text/plain; charset=utf-8", b"NOT READY"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=_READ_TIMEOUT)
            if len(head) > _MAX_HEAD:
                raise ValueError("request head too large")
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, path, _version = request_line.split(" ", 2)
            status, content_type, body = self.respond(method, path)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            status, content_type, body, method = 400, "text/plain", b"Bad Request\n", "GET"
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        headers = (
            f"HTTP/1.1 {status} {reason.get(status, 'Service Unavailable')}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        try:
            writer.write(headers.encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
