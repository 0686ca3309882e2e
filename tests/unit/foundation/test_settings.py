"""Settings fail fast naming the variable; the secret key is generated once and kept."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from comradarr_settings import CoreSettings, SettingsError, ensure_secret_key_file, load_settings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "DATABASE_URL",
        "NATS_URL",
        "SECRET_KEY",
        "TZ",
        "PORT",
        "GATEWAY_PORT",
        "LOG_LEVEL",
        "BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMRADARR_DATA_DIR", str(tmp_path / "data"))


def test_defaults() -> None:
    s = load_settings(CoreSettings)
    assert (s.host, s.port, s.gateway_port, s.tz, s.log_level, s.base_url) == (
        "0.0.0.0",
        3000,
        8000,
        "UTC",
        "info",
        "/",
    )
    assert s.database_url is None and s.nats_url is None
    assert (s.db_pool_min, s.db_pool_max) == (10, 25)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("DATABASE_URL", "mysql://root@db/x", "postgresql://"),
        ("NATS_URL", "http://nats:4222", "nats://"),
        ("GATEWAY_PORT", "70000", "65535"),
        ("PORT", "abc", "integer"),
        ("TZ", "Mars/Olympus", "unknown time zone"),
        ("LOG_LEVEL", "verbose", "trace"),
        ("BASE_URL", "comradarr", "must be a path"),
        ("BASE_URL", "/a/../b", "must be a path"),
        ("SECRET_KEY", "changeme", "placeholder"),
        ("SECRET_KEY", "short", "at least 32"),
        ("COMRADARR_DB_POOL_MIN", "0", "greater than or equal"),
    ],
)
def test_invalid_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings(CoreSettings)
    text = str(info.value)
    assert name in text and fragment in text
    assert info.value.problems[0][0] == name


def test_every_bad_variable_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Nowhere/Land")
    monkeypatch.setenv("GATEWAY_PORT", "0")
    with pytest.raises(SettingsError) as info:
        load_settings(CoreSettings)
    assert {n for n, _ in info.value.problems} == {"TZ", "GATEWAY_PORT"}


def test_secret_key_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    s = load_settings(CoreSettings)
    assert "k" * 40 not in repr(s) and "k" * 40 not in str(s.model_dump())
    assert s.resolved_secret_key() == "k" * 40


def test_generated_secret_key_is_persisted_with_mode_0600(tmp_path: Path) -> None:
    s = load_settings(CoreSettings)
    first = s.resolved_secret_key()
    path = s.data_dir / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    # A restart reads the same key back, so secrets encrypted before still decrypt.
    assert load_settings(CoreSettings).resolved_secret_key() == first


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "key"
    key = ensure_secret_key_file(path)
    os.chmod(path, 0o644)
    assert ensure_secret_key_file(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_corrupt_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("tiny")
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        ensure_secret_key_file(path)


def test_bus_replicas_reach_the_stream_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from comradarr_bus._connection import _config
    from comradarr_proto import COMMANDS_STREAM

    monkeypatch.setenv("COMRADARR_BUS_REPLICAS", "3")
    settings = load_settings(CoreSettings)
    assert settings.bus_replicas == 3
    assert _config("p", COMMANDS_STREAM, settings.bus_replicas).num_replicas == 3
    monkeypatch.setenv("COMRADARR_BUS_REPLICAS", "0")
    with pytest.raises(SettingsError, match="COMRADARR_BUS_REPLICAS"):
        load_settings(CoreSettings)
