"""Gateway settings from the environment (fail fast, naming the variable)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class GatewaySettings(BaseSettings):
    """What only the gateway reads. Every variable is prefixed COMRADARR_."""

    model_config = SettingsConfigDict(env_prefix="COMRADARR_", extra="ignore")

    # Peers allowed to say who the client is (X-Forwarded-For, X-Forwarded-Proto).
    # Comma-separated CIDRs; empty means no proxy is trusted and only the socket counts.
    # Loopback by default: the web UI calls the gateway from this host and forwards each
    # browser's address. Were it not trusted, every UI user would look like 127.0.0.1 (local,
    # so let in by local-bypass mode). A local reverse proxy that appends to the header is
    # safe too: the walk stops at the first address that is not a trusted proxy.
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    # Failed logins: a (username, address) pair locks after login_max_failures, an address
    # after login_ip_max_failures (any usernames), each for lockout_seconds. A username's
    # failures across addresses never lock it: past login_max_failures, attempts from
    # addresses that already failed wait 1, 2, 4 ... s (at most login_delay_max_seconds).
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_ip_max_failures: int = Field(default=20, ge=1, le=10000)
    login_failure_window_seconds: int = Field(default=900, ge=1, le=86400)
    lockout_seconds: int = Field(default=900, ge=1, le=86400)
    login_delay_max_seconds: int = Field(default=60, ge=1, le=3600)
    api_key_rate_per_minute: int = Field(default=300, ge=1, le=100000)
    max_body_bytes: int = Field(default=65536, ge=1024, le=16 * 1024 * 1024)
    # The one route that takes a large body: a backup file uploaded for restore.
    backup_upload_max_bytes: int = Field(default=2 << 30, ge=1 << 20, le=1 << 40)
    connector_test_max_timeout: float = Field(default=30.0, gt=0, le=300)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_proxies(cls, v: object) -> object:
        if isinstance(v, str):
            parts = [p.strip() for p in v.split(",") if p.strip()]
            try:
                return tuple(ipaddress.ip_network(p, strict=False) for p in parts)
            except ValueError as exc:
                raise ValueError(f"not a comma-separated list of CIDRs: {exc}") from None
        return v
