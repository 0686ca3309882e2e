"""The status server, metrics helpers and the App lifecycle with fake clients."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gatherarr import App, Config, TargetConfig, WantedItem
from gatherarr._http import StatusServer
from gatherarr._metrics import Metrics
from gatherarr_fakes import FakeClient, FakeClock, make_config
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.unit


async def fetch(port: int, raw: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    writer.write_eof()  # lets the truncated-request case end without the read timeout
    data = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def test_metrics_series_exist_at_zero_after_init() -> None:
    metrics = Metrics()
    metrics.init_target(target="movies", type_="radarr")
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    for name in (
        "gatherarr_run",
        "gatherarr_requests",
        "gatherarr_grabs",
        "gatherarr_skips",
        "gatherarr_request_errors",
        "gatherarr_request_duration_seconds",
        "gatherarr_state_write_failures",
    ):
        assert name in families, name
    runs = {
        s.labels["status"]: s.value
        for s in families["gatherarr_run"].samples
        if s.name == "gatherarr_run_total"
    }
    assert runs == {"success": 0.0, "partial": 0.0, "failure": 0.0}


async def test_status_server_routes() -> None:
    ready = {"value": False}
    server = StatusServer(metrics=Metrics(), ready=lambda: ready["value"])
    await server.start(host="127.0.0.1", port=0)
    try:
        assert await fetch(server.port, get("/health")) == (503, b"NOT READY")
        ready["value"] = True
        assert await fetch(server.port, get("/health?x=1")) == (200, b"OK")
        assert (await fetch(server.port, get("/health", "HEAD")))[0] == 200
        status, body = await fetch(server.port, get("/metrics"))
        assert status == 200 and b"gatherarr_state_write_failures_total 0.0" in body
        assert (await fetch(server.port, get("/nope")))[0] == 404
        assert (await fetch(server.port, get("/health", "POST")))[0] == 405
        assert (await fetch(server.port, b"garbage\r\n\r\n"))[0] == 400
        assert (await fetch(server.port, b"GET /health"))[0] == 400  # closed mid-head
    finally:
        await server.close()
    await server.close()  # idempotent


async def test_app_lifecycle_health_and_clean_stop(tmp_path: Path) -> None:
    config = make_config(tmp_path, interval=3600)
    client = FakeClient(items=[WantedItem.movie(1)])

    def factory(target: TargetConfig, cfg: Config, observe: object) -> FakeClient:
        return client

    app = App(config=config, client_factory=factory, clock=FakeClock())
    assert not app.ready()
    task = asyncio.create_task(app.run())
    for _ in range(200):
        if app.ready() and client.searched():
            break
        await asyncio.sleep(0.01)
    assert app.ready()
    status, body = await fetch(app.server.port, get("/health"))
    assert (status, body) == (200, b"OK")
    app.request_stop()
    assert await asyncio.wait_for(task, timeout=5) == 0
    assert client.closed
    assert config.state_file.exists()
    assert not app.ready()


async def test_app_stop_times_out_a_stuck_request(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    object.__setattr__(config, "shutdown_timeout_seconds", 0.1)
    started = asyncio.Event()

    class Stuck(FakeClient):
        async def wanted(self) -> list[WantedItem]:
            started.set()
            await asyncio.sleep(3600)
            return []

    app = App(config=config, client_factory=lambda t, c, o: Stuck(), clock=FakeClock())
    task = asyncio.create_task(app.run())
    await asyncio.wait_for(started.wait(), timeout=5)
    app.request_stop()
    assert await asyncio.wait_for(task, timeout=5) == 0
