"""What the gateway's handlers share: context, settings, hasher, clock, cached settings."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from comradarr_crypto import Keyring, PasswordHasher
from comradarr_runtime import ServiceContext
from fastapi import Request

from . import repo
from .appsettings import AppSettings, build
from .config import GatewaySettings

SETTINGS_TTL_SECONDS = 2.0


def utcnow() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass
class Gateway:
    """Shared state of one gateway app."""

    ctx: ServiceContext
    settings: GatewaySettings
    hasher: PasswordHasher
    clock: Callable[[], datetime] = utcnow
    box: Keyring = field(init=False)
    dummy_hash: str = field(init=False)
    event_subscribers: int = field(default=0, init=False)
    _cached: AppSettings | None = field(default=None, init=False)
    _cached_at: float = field(default=0.0, init=False)
    _settings_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _settings_generation: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.box = self.ctx.box
        # Verified when the username is unknown, so both paths cost one Argon2 verify.
        self.dummy_hash = self.hasher.hash("comradarr-dummy-password-for-timing")

    def now(self) -> datetime:
        """The current time (injectable for tests)."""
        return self.clock()

    async def app_settings(self) -> AppSettings:
        """The application settings, cached for a couple of seconds.

        One request reloads an expired cache; concurrent ones wait for that load instead of
        each reading and validating the settings again.
        """
        cached = self._fresh()
        if cached is not None:
            return cached
        async with self._settings_lock:
            cached = self._fresh()
            if cached is not None:
                return cached
            generation = self._settings_generation
            async with self.ctx.pool.acquire() as conn:
                stored = await repo.load_settings_rows(conn)
            loaded = build(stored)
            if generation == self._settings_generation:
                # Not if a change was saved meanwhile: the next request reads it afresh.
                self._cached = loaded
                self._cached_at = time.monotonic()
            return loaded

    def _fresh(self) -> AppSettings | None:
        if self._cached is not None and time.monotonic() - self._cached_at < SETTINGS_TTL_SECONDS:
            return self._cached
        return None

    def forget_settings(self) -> None:
        """Drop the cache after a change."""
        self._cached = None
        self._settings_generation += 1

    def bypass_csrf_token(self) -> str:
        """The CSRF token of local-bypass requests (no session to hold one)."""
        key = self.ctx.secret_key.encode()
        return hmac.new(key, b"comradarr local-bypass csrf v1", hashlib.sha256).hexdigest()


def gateway_of(request: Request) -> Gateway:
    """The Gateway of the app serving request."""
    gw: Gateway = request.app.state.gateway
    return gw
