"""The *arr client over real sockets: a simulator on uvicorn at 127.0.0.1, ephemeral ports."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from comradarr_arr import (
    ArrClient,
    ArrConnectionRefusedError,
    ArrNetworkError,
    ArrTimeoutError,
    ArrTLSError,
    ConnectorConfig,
    RetryPolicy,
    test_connection,
)
from comradarr_arr._cli import main as arr_cli
from comradarr_arrsim import Fault, Flavor, LibrarySpec, RunningServer, Simulator, serve_in_thread
from comradarr_arrsim._cli import build as build_sim
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytestmark = pytest.mark.integration

KEY = "integration-key-9f8e7d6c5b4a"


def _sim(flavor: Flavor = Flavor.SONARR_V3) -> Simulator:
    return Simulator(flavor=flavor, api_key=KEY, spec=LibrarySpec(series=3, movies=5))


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serve_in_thread(_sim()) as running:
        yield running


def _free_port() -> int:
    # Bound then closed: nothing listens there afterwards, so connecting is refused.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _config(url: str, **kw: object) -> ConnectorConfig:
    options: dict[str, object] = {"retry": RetryPolicy(max_retries=0), "timeout": 5.0, **kw}
    return ConnectorConfig(name="it", url=url, api_key=KEY, **options)  # type: ignore[arg-type]


async def test_connection_test_success(server: RunningServer) -> None:
    result = await test_connection(config=_config(server.url))
    assert result.ok, result
    assert (result.app, result.api_version, result.instance_name) == ("sonarr", "v3", "Sonarr")
    assert result.elapsed_ms > 0
    assert [r.path for r in server.simulator.requests] == ["/ping", "/api/v3/system/status"]


async def test_connection_test_wrong_key(server: RunningServer) -> None:
    config = ConnectorConfig(
        name="it", url=server.url, api_key="nope", retry=RetryPolicy(max_retries=0)
    )
    result = await test_connection(config=config)
    assert not result.ok
    assert (result.error, result.message, result.status_code) == (
        "authentication",
        "API key rejected",
        401,
    )


async def test_connection_refused_names_the_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = await test_connection(config=_config(url))
    assert not result.ok and result.error == "connection_refused"
    assert result.message == f"connection refused at {url}"
    async with ArrClient(_config(url)) as client:
        with pytest.raises(ArrConnectionRefusedError):
            await client.ping()


async def test_timeout_carries_elapsed_time(server: RunningServer) -> None:
    server.simulator.add_fault(Fault(kind="slow", delay=1.0, path="/api/v3/system/status", times=1))
    async with ArrClient(_config(server.url, timeout=0.2)) as client:
        with pytest.raises(ArrTimeoutError, match=r"within 0\.2s") as info:
            await client.api_info()
    assert 0.15 <= info.value.elapsed < 1.0


async def test_dropped_connection_mid_body(server: RunningServer) -> None:
    async with ArrClient(_config(server.url)) as client:
        await client.api_info()
        server.simulator.add_fault(Fault(kind="drop", path="/episode", times=1))
        with pytest.raises(ArrNetworkError, match="dropped"):
            [e async for e in client.episodes(series_id=1)]
        # The next request works again.
        assert [e async for e in client.episodes(series_id=1)]


def _self_signed(tmp: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "arrsim-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


async def test_tls_verification_on_and_off(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with serve_in_thread(_sim(Flavor.RADARR_V3), ssl_certfile=cert, ssl_keyfile=key) as running:
        assert running.url.startswith("https://")
        refused = await test_connection(config=_config(running.url))
        assert not refused.ok and refused.error == "tls"
        assert refused.message is not None and "TLS certificate not trusted" in refused.message
        async with ArrClient(_config(running.url)) as client:
            with pytest.raises(ArrTLSError):
                await client.ping()
        accepted = await test_connection(config=_config(running.url, verify_tls=False))
        assert accepted.ok and accepted.app == "radarr"


def test_cli_arr_test_prints_one_json_object(
    server: RunningServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMRADARR_ARR_API_KEY", KEY)
    code = arr_cli(["test", "--type", "sonarr", "--url", server.url, "--timeout", "5"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(out) == 1
    result = json.loads(out[0])
    assert result["ok"] is True and result["app"] == "sonarr" and result["api_version"] == "v3"
    assert KEY not in out[0]
    assert all(r.api_key_header and KEY not in r.query for r in server.simulator.requests)


def test_cli_arr_test_failure_exit_code(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = arr_cli(["test", "--type", "radarr", "--url", server.url, "--api-key", KEY])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert result["ok"] is False and result["error"] == "unsupported"
    assert "expected radarr but found Sonarr" in result["message"]
    code = arr_cli(["test", "--type", "sonarr", "--url", server.url, "--api-key", "bad-key"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and result["message"] == "API key rejected"


def test_arrsim_cli_builds_the_described_simulator() -> None:
    sim, args = build_sim(
        ["--type", "sonarr", "--port", "8989", "--api-key", "k", "--series", "7", "--seasons", "2"]
    )
    assert sim.flavor is Flavor.SONARR_V3 and args.port == 8989
    assert len(sim.library.series) == 7
    eros, _ = build_sim(["--type", "whisparr-v3", "--api-key", "k", "--movies", "4"])
    assert eros.info.eros and len(eros.library.movies) == 4
