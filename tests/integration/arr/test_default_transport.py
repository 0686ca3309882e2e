"""The client's default transport (aiohttp under httpx) against a raw socket server:
keep-alive, a server that closes, chunked and large streamed bodies, bodiless answers, a
stalled, a dropped and a refused connection, each surfacing as the httpx error the client
maps to a domain error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from comradarr_arr import default_transport

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]


async def _serve(handler: Handler) -> tuple[asyncio.Server, list[int]]:
    """A server answering each request with handler (False: close); counts connections."""
    connections: list[int] = []

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                if not await handler(head + body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    return server, connections


@pytest.fixture
async def client() -> AsyncIterator[Callable[[asyncio.Server], httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []

    def make(server: asyncio.Server) -> httpx.AsyncClient:
        port = server.sockets[0].getsockname()[1]
        c = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            transport=default_transport(verify_tls=True),
            timeout=2.0,
        )
        made.append(c)
        return c

    yield make
    for c in made:
        await c.aclose()


def _ok(body: bytes, *extra: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)
    return head + b"".join(e + b"\r\n" for e in extra) + b"\r\n" + body


async def test_keep_alive_reuses_one_connection_and_sends_the_body(client) -> None:  # type: ignore[no-untyped-def]
    seen: list[bytes] = []

    async def echo(request: bytes, writer: asyncio.StreamWriter) -> bool:
        seen.append(request)
        writer.write(_ok(request.split(b"\r\n\r\n", 1)[1] or b"{}"))
        return True

    server, connections = await _serve(echo)
    async with server:
        c = client(server)
        for i in range(3):
            r = await c.post("/api/v3/command", json={"n": i}, headers={"X-Api-Key": "k"})
            assert r.status_code == 200
            assert r.json() == {"n": i}
        assert len(connections) == 1
        assert b"x-api-key: k" in seen[0].lower()
        assert seen[0].startswith(b"POST /api/v3/command HTTP/1.1\r\n")


async def test_connection_close_is_honoured(client) -> None:  # type: ignore[no-untyped-def]
    async def close_each(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(_ok(b"{}", b"Connection: close"))
        await writer.drain()
        return False

    server, connections = await _serve(close_each)
    async with server:
        c = client(server)
        for _ in range(3):
            assert (await c.get("/x")).json() == {}
        assert len(connections) == 3


async def test_chunked_and_large_streamed_bodies(client) -> None:  # type: ignore[no-untyped-def]
    big = b"x" * (5 << 20)

    async def answer(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if request.startswith(b"GET /chunked"):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (b"[1,", b"2,", b"3]"):
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(_ok(big))
        await writer.drain()
        return True

    server, connections = await _serve(answer)
    async with server:
        c = client(server)
        assert (await c.get("/chunked")).json() == [1, 2, 3]
        async with c.stream("GET", "/big") as r:
            total = 0
            async for chunk in r.aiter_bytes():
                total += len(chunk)
                await asyncio.sleep(0)
        assert total == len(big)
        assert (await c.get("/chunked")).json() == [1, 2, 3]
        assert len(connections) == 1


async def test_bodiless_answers(client) -> None:  # type: ignore[no-untyped-def]
    async def answer(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if request.startswith(b"HEAD"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        return True

    server, _ = await _serve(answer)
    async with server:
        c = client(server)
        assert (await c.delete("/x")).status_code == 204
        r = await c.head("/x")
        assert r.status_code == 200
        assert r.content == b""
        assert (await c.delete("/x")).status_code == 204


async def test_stalled_answer_times_out_and_a_dropped_one_is_a_read_error(client) -> None:  # type: ignore[no-untyped-def]
    async def answer(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if request.startswith(b"GET /stall"):
            await asyncio.sleep(1)
            return False
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()
        return False

    server, _ = await _serve(answer)
    async with server:
        port = server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(
            transport=default_transport(verify_tls=True), timeout=0.2
        ) as c:
            with pytest.raises(httpx.ReadTimeout):
                await c.get(f"http://127.0.0.1:{port}/stall")
            # Either way the client reports "connection dropped".
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                await c.get(f"http://127.0.0.1:{port}/drop")


async def test_body_without_length_ends_with_the_connection(client) -> None:  # type: ignore[no-untyped-def]
    async def answer(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"a": 1}')
        await writer.drain()
        return False

    server, connections = await _serve(answer)
    async with server:
        c = client(server)
        assert (await c.get("/x")).json() == {"a": 1}
        assert (await c.get("/x")).json() == {"a": 1}
        assert len(connections) == 2


async def test_refused_connection_is_a_connect_error_caused_by_the_refusal() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with httpx.AsyncClient(transport=default_transport(verify_tls=True)) as c:
        with pytest.raises(httpx.ConnectError) as caught:
            await c.get(f"http://127.0.0.1:{port}/ping")
    chain: list[BaseException] = []
    exc: BaseException | None = caught.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert any(isinstance(e, ConnectionRefusedError) for e in chain)


async def test_a_proxy_the_environment_names_carries_the_client_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ArrClient hands its requests to the transport httpx picks for its URL: a forward
    proxy named by HTTP_PROXY gets them (absolute-form, with the key header), ours does not."""
    from comradarr_arr import ArrClient, ConnectorConfig, RetryPolicy

    seen: list[bytes] = []

    async def proxy(request: bytes, writer: asyncio.StreamWriter) -> bool:
        seen.append(request)
        body = b'{"status": "OK"}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        return True

    server, _ = await _serve(proxy)
    port = server.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    config = ConnectorConfig(
        name="proxied",
        url="http://sonarr.invalid:8989",
        api_key="proxy-test-key-0123456789",
        retry=RetryPolicy(max_retries=0),
        timeout=5.0,
    )
    async with server, ArrClient(config) as arr:
        await arr.ping()
    assert len(seen) == 1
    assert seen[0].startswith(b"GET http://sonarr.invalid:8989/ping HTTP/1.1\r\n")
    assert b"x-api-key: proxy-test-key-0123456789" in seen[0].lower()
