"""Start the whole system for browser tests: `comradarr up` (every service and the Reflex UI in
prod mode, as `make run` starts them) and a Sonarr simulator, each on free loopback ports,
each a subprocess we stop ourselves (stopping `comradarr up` stops its UI).

Needs: Debian's chromium at /usr/bin/chromium and the UI's Node.js and bun wheels
(`make ui-install`). Never downloads a browser. Every process runs on a PATH without node,
npm or bun (`path_without_node`): the UI builds with the wheels alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UI_DIR = REPO / "ui"
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("COMRADARR_CHROMIUM", "/usr/bin/chromium")
# What a machine with Python alone lacks; the wheels bring their own.
JS_TOOLS = frozenset({"node", "nodejs", "npm", "npx", "bun", "bunx", "corepack", "yarn", "pnpm"})
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARR_KEY = "e2e-sonarr-key-0123456789abcdef"
ADMIN = ("admin", "e2e correct horse battery staple")
# Under a BASE_URL, what the reverse proxy sends to the gateway (the rest goes to the UI).
GATEWAY_PATHS = ("/api", "/docs", "/openapi.json", "/health")
PROXIED_CLIENT = "198.51.100.23"


def missing_prerequisites() -> str:
    """'' when the browser and the UI toolchain are there; else what to install."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} missing (apt-get install -y chromium)"
    from comradarr_ui import toolchain

    return toolchain.missing()


def path_without_node(work: Path) -> str:
    """A PATH with every program of this one except node, npm, bun and their kin: a
    folder of links, since /usr/bin holds both those and what the tests need."""
    shadow = work / "bin-without-node"
    shadow.mkdir()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        with contextlib.suppress(OSError):
            for entry in Path(folder).iterdir():
                link = shadow / entry.name
                if entry.name not in JS_TOOLS and not link.exists():
                    link.symlink_to(entry)
    return str(shadow)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited early; log tail:\n{_tail(log)}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as resp:
            if resp.status < 500:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout}s; log tail:\n{_tail(log)}")


def _tail(log: Path, n: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole, and only it
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@dataclass
class System:
    ui_url: str
    gateway_url: str
    arr_url: str
    logs: Path
    timings: dict[str, float]
    data_dir: Path | None = None
    # With a BASE_URL: the reverse proxy's origin (ui_url is under it, gateway_url is direct).
    proxy_url: str = ""


@contextlib.contextmanager
def running_system(*, base_url: str = "") -> Iterator[System]:
    """Gateway + simulator + UI, torn down on exit.

    base_url ('/comradarr'): everything is served under it, behind a reverse proxy on
    127.0.0.1 (tests/support/proxy.py), and the UI builds in its own web directory.
    """
    work = Path(tempfile.mkdtemp(prefix="comradarr-e2e-"))
    logs = work / "logs"
    logs.mkdir()
    gw_port, arr_port, ui_port = free_port(), free_port(), free_port()
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COMRADARR_", "REFLEX_", "VIRTUAL_ENV"))
    }
    base_env["PATH"] = path_without_node(work)
    base_env["BASE_URL"] = base_url or "/"
    procs: list[subprocess.Popen[bytes]] = []
    timings: dict[str, float] = {}
    stack = contextlib.ExitStack()
    proxy = None
    if base_url:
        from tests.support.proxy import ReverseProxy, proxy_in_thread

        upstream_ui, upstream_gw = f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{gw_port}"
        routes = [(base_url, upstream_ui)] + [
            (base_url + path, upstream_gw) for path in GATEWAY_PATHS
        ]
        # As if the browser were elsewhere on the net: the address must reach the gateway.
        proxy = stack.enter_context(
            proxy_in_thread(ReverseProxy(routes=routes, client_address=PROXIED_CLIENT))
        )
    try:
        t0 = time.monotonic()
        # `comradarr up` as `make run` starts it, the web UI included: built by Reflex with
        # the Node.js and bun wheels, on a PATH without node, npm or bun.
        gw_env = {
            **base_env,
            "COMRADARR_DATA_DIR": str(work / "data"),
            "GATEWAY_PORT": str(gw_port),
            "PORT": str(ui_port),
            "COMRADARR_UI_API_URL": proxy.url if proxy else f"http://127.0.0.1:{ui_port}",
        }
        if base_url:  # another build (another frontend_path) beside the usual one
            gw_env["REFLEX_WEB_WORKDIR"] = str(work / "web")
            gw_env["REFLEX_STATES_WORKDIR"] = str(work / "states")
        for key in ("DATABASE_URL", "NATS_URL"):
            gw_env.pop(key, None)
        # The runtime writes the UI's output to the data directory; seen from logs/ too.
        (work / "data").mkdir()
        (logs / "ui.log").symlink_to(work / "data" / "ui.log")
        gw = _start([str(BIN / "comradarr"), "up"], gw_env, logs / "gateway.log", REPO)
        procs.append(gw)
        arr = _start(
            [
                str(BIN / "comradarr"),
                "arrsim",
                "--type",
                "sonarr",
                "--host",
                "127.0.0.1",
                "--port",
                str(arr_port),
                "--api-key",
                ARR_KEY,
                "--series",
                "20",
            ],
            base_env,
            logs / "arrsim.log",
            REPO,
        )
        procs.append(arr)
        gateway_url = f"http://127.0.0.1:{gw_port}"
        wait_http(f"{gateway_url}/api/v1/setup/status", 180, gw, logs / "gateway.log")
        timings["gateway_ready_s"] = round(time.monotonic() - t0, 2)
        wait_http(f"http://127.0.0.1:{arr_port}/ping", 60, arr, logs / "arrsim.log")
        wait_http(f"http://127.0.0.1:{ui_port}{base_url}/ping", 420, gw, logs / "ui.log")
        timings["ui_ready_s"] = round(time.monotonic() - t0, 2)
        yield System(
            ui_url=(proxy.url if proxy else f"http://127.0.0.1:{ui_port}") + base_url,
            gateway_url=gateway_url,
            arr_url=f"http://127.0.0.1:{arr_port}",
            logs=logs,
            timings=timings,
            data_dir=work / "data",
            proxy_url=proxy.url if proxy else "",
        )
    finally:
        for proc in reversed(procs):
            _stop(proc)
        stack.close()
        keep = ARTIFACTS / ("logs" + base_url.replace("/", "-"))
        with contextlib.suppress(OSError):
            keep.mkdir(parents=True, exist_ok=True)
            for log in logs.glob("*.log"):
                shutil.copy(log, keep / log.name)
        shutil.rmtree(work, ignore_errors=True)
