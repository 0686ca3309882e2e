"""Client address resolution and settings validation, without I/O."""

from __future__ import annotations

import ipaddress

import pytest
from comradarr_gateway.appsettings import SettingsPatch, build, flatten
from comradarr_gateway.clientip import resolve_client
from pydantic import ValidationError

PROXIES = (ipaddress.ip_network("10.9.9.0/24"),)


@pytest.mark.parametrize(
    ("peer", "xff", "expected", "local"),
    [
        ("203.0.113.7", "127.0.0.1", "203.0.113.7", False),  # untrusted peer: header ignored
        ("10.9.9.1", "192.168.1.4", "192.168.1.4", True),
        ("10.9.9.1", "127.0.0.1, 203.0.113.9", "203.0.113.9", False),  # rightmost untrusted
        ("10.9.9.1", "garbage", "", False),
        ("::ffff:127.0.0.1", None, "127.0.0.1", True),
        ("192.168.0.3", None, "192.168.0.3", True),
        ("172.32.0.1", None, "172.32.0.1", False),
        (None, None, "", False),
    ],
)
def test_resolve_client(peer: str | None, xff: str | None, expected: str, local: bool) -> None:
    info = resolve_client(
        peer=peer, scheme="http", forwarded_for=xff, forwarded_proto=None, trusted_proxies=PROXIES
    )
    assert (info.ip, info.is_local) == (expected, local)


def test_forwarded_proto_only_from_trusted_proxy() -> None:
    kw = {"scheme": "http", "forwarded_for": None, "forwarded_proto": "https"}
    assert resolve_client(peer="10.9.9.2", trusted_proxies=PROXIES, **kw).https
    assert not resolve_client(peer="203.0.113.1", trusted_proxies=PROXIES, **kw).https


def test_settings_patch_names_unknown_and_invalid_fields() -> None:
    with pytest.raises(ValidationError) as err:
        SettingsPatch.model_validate({"general": {"colour": "red"}})
    assert err.value.errors()[0]["loc"] == ("general", "colour")
    with pytest.raises(ValidationError) as err:
        SettingsPatch.model_validate({"general": {"timezone": "Mars/Base"}})
    assert err.value.errors()[0]["loc"] == ("general", "timezone")
    with pytest.raises(ValidationError):
        SettingsPatch.model_validate({"search": {"season_pack_threshold": 2}})


def test_flatten_and_build_round_trip() -> None:
    patch = SettingsPatch.model_validate(
        {"search": {"priority_weights": {"age": 3}}, "general": {"log_level": "debug"}}
    )
    flat = flatten(patch)
    assert flat == {"search.priority_weights.age": 3.0, "general.log_level": "debug"}
    built = build(flat)
    assert built.search.priority_weights.age == 3.0 and built.general.log_level == "debug"
    assert build({"nonsense.key": 1}).general.app_name == "Comradarr"


@pytest.mark.parametrize(
    ("forwarded", "expected", "local"),
    [
        ("203.0.113.9", "203.0.113.9", False),  # a browser on the internet, via the web UI
        ("192.168.1.4", "192.168.1.4", True),  # a browser on the LAN, via the web UI
        ("127.0.0.1, 203.0.113.9", "203.0.113.9", False),  # a spoof appended to by a proxy
        (None, "127.0.0.1", True),  # a local process calling directly
    ],
)
def test_default_settings_believe_the_web_ui_about_its_browsers(
    forwarded: str | None, expected: str, local: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UI calls from loopback on behalf of remote browsers: by default the gateway takes
    the address it forwards, so local bypass never extends to whoever can reach the UI."""
    from comradarr_gateway.config import GatewaySettings

    monkeypatch.delenv("COMRADARR_TRUSTED_PROXIES", raising=False)
    proxies = GatewaySettings().trusted_proxies
    info = resolve_client(
        peer="127.0.0.1",
        scheme="http",
        forwarded_for=forwarded,
        forwarded_proto=None,
        trusted_proxies=proxies,
    )
    assert (info.ip, info.is_local) == (expected, local)
    assert not resolve_client(  # the header still counts from nobody else
        peer="203.0.113.7",
        scheme="http",
        forwarded_for="127.0.0.1",
        forwarded_proto=None,
        trusted_proxies=proxies,
    ).is_local
