"""A small reverse proxy on 127.0.0.1 (aiohttp) for testing Comradarr behind a sub-path.

Like nginx with `proxy_pass` and no trailing slash: paths are forwarded unchanged (the
BASE_URL prefix stays on), the longest matching prefix picks the upstream, WebSockets are
relayed, and X-Forwarded-For / X-Forwarded-Proto are appended. Anything outside the routes
is a 404 from the proxy itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

# Hop-by-hop headers (RFC 9110 7.6.1) and ones the client library sets itself. Bodies pass
# through as they are (compressed ones too: auto_decompress is off).
_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


@dataclass
class ReverseProxy:
    """routes: (path prefix, upstream origin such as http://127.0.0.1:8000)."""

    routes: Sequence[tuple[str, str]]
    # The client address the proxy reports (as if the browser were elsewhere on the net).
    client_address: str | None = None
    port: int = 0
    requests: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """The proxy's origin."""
        return f"http://127.0.0.1:{self.port}"

    def _upstream(self, path: str) -> str | None:
        for prefix, upstream in sorted(self.routes, key=lambda r: -len(r[0])):
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return upstream
        return None

    def _headers(self, request: web.Request) -> dict[str, str]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        peer = self.client_address or (request.remote or "")
        prior = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
        headers["X-Forwarded-Proto"] = "http"
        headers["X-Forwarded-Host"] = request.host
        return headers

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        upstream = self._upstream(request.path)
        self.requests.append(f"{request.method} {request.path_qs}")
        if upstream is None:
            return web.Response(status=404, text="not proxied")
        target = upstream + request.rel_url.raw_path_qs
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, target)
        assert self._session is not None
        async with self._session.request(
            request.method,
            target,
            headers=self._headers(request),
            data=await request.read(),
            allow_redirects=False,
        ) as resp:
            out = web.StreamResponse(status=resp.status)
            for name, value in resp.headers.items():
                if name.lower() == "location" and value.startswith(upstream):
                    # nginx's `proxy_redirect default`: the upstream's own origin becomes ours.
                    value = f"{request.scheme}://{request.host}{value[len(upstream) :]}"
                if name.lower() not in _HOP:
                    out.headers.add(name, value)
            await out.prepare(request)
            async for chunk in resp.content.iter_any():
                await out.write(chunk)
            await out.write_eof()
            return out

    async def _websocket(self, request: web.Request, target: str) -> web.WebSocketResponse:
        assert self._session is not None
        headers = {k: v for k, v in self._headers(request).items() if not k.startswith("Sec-")}
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        protocols = tuple(p.strip() for p in offered.split(",") if p.strip())
        async with self._session.ws_connect(
            target.replace("http", "ws", 1), headers=headers, protocols=protocols
        ) as up:
            # The subprotocol the upstream chose is the one the client gets.
            client = web.WebSocketResponse(protocols=(up.protocol,) if up.protocol else ())
            await client.prepare(request)

            async def pump(src: object, dst: object) -> None:
                async for msg in src:  # type: ignore[attr-defined]
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        await dst.send_str(msg.data)  # type: ignore[attr-defined]
                    elif msg.type == aiohttp.WSMsgType.BINARY:
                        await dst.send_bytes(msg.data)  # type: ignore[attr-defined]
                    else:
                        break

            tasks = [asyncio.create_task(pump(client, up)), asyncio.create_task(pump(up, client))]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            await client.close()
        return client

    async def start(self) -> ReverseProxy:
        """Listen on 127.0.0.1 (a free port unless one was given)."""
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Stop listening and close the upstream connections."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()


@contextlib.contextmanager
def proxy_in_thread(proxy: ReverseProxy) -> Iterator[ReverseProxy]:
    """Run the proxy on its own event loop in a thread (for sync tests such as browsers)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(proxy.start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(proxy.stop())
        loop.close()

    thread = threading.Thread(target=serve, name="reverse-proxy", daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("the reverse proxy did not start")
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
