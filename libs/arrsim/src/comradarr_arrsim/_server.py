"""Running a simulator on a real uvicorn server in a background thread."""

from __future__ import annotations

import dataclasses
import threading
import time

import uvicorn

from comradarr_arrsim._sim import Simulator


@dataclasses.dataclass
class RunningServer:
    """A simulator served over real HTTP(S) on the loopback interface."""

    simulator: Simulator
    url: str
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_in_thread(
    simulator: Simulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    startup_timeout: float = 10.0,
) -> RunningServer:
    """Start ``simulator`` on uvicorn (port 0 picks a free port) and wait until it listens."""
    config = uvicorn.Config(
        simulator.app,
        host=host,
        port=port,
        log_level="critical",
        access_log=False,
        lifespan="off",
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="arrsim-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("simulator server did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    scheme = "https" if ssl_certfile else "http"
    url = f"{scheme}://{host}:{bound}{simulator.url_base}"
    return RunningServer(simulator=simulator, url=url, port=bound, _server=server, _thread=thread)
