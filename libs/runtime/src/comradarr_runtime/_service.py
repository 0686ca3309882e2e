"""What a service is made of, and what it is given to run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import asyncpg
from comradarr_bus import Bus, Subscription
from comradarr_crypto import Keyring
from comradarr_settings import CoreSettings
from fastapi import FastAPI

ENTRY_POINT_GROUP = "comradarr.services"


@dataclass
class ServiceContext:
    """Resources a service's handlers and loops use; opened and closed by the runner."""

    name: str
    settings: CoreSettings
    pool: asyncpg.Pool
    bus: Bus
    secret_key: str = field(repr=False)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Shared by the services of one process; follows SECRET_KEY rotations (comradarr_runtime
    # ._keys). Built from secret_key when not given.
    keyring: Keyring | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.keyring is None:
            self.keyring = Keyring(self.secret_key)

    @property
    def box(self) -> Keyring:
        """What encrypts and decrypts stored secrets (connector keys, channel URLs)."""
        assert self.keyring is not None  # set in __post_init__
        return self.keyring

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless shutdown starts first; returns False when the service is stopping."""
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except TimeoutError:
            return True
        return False


@dataclass(frozen=True)
class ServiceDefinition:
    """A service: its consumers, its background loops and (for the gateway) its HTTP app."""

    name: str
    description: str
    subscriptions: Callable[[ServiceContext], Sequence[Subscription[Any]]] = lambda _ctx: ()
    loops: Callable[[ServiceContext], Sequence[Coroutine[Any, Any, None]]] = lambda _ctx: ()
    http_app: Callable[[ServiceContext], FastAPI] | None = None
    # Prunes the service's own tables on a maintenance run (comradarr_runtime.maintenance).
    maintenance: (
        Callable[[ServiceContext, Any, Any], Coroutine[Any, Any, dict[str, int]]] | None
    ) = None


class UnknownServiceError(LookupError):
    """No installed service has that name."""


def available_services() -> dict[str, metadata.EntryPoint]:
    """Installed services by name, from the comradarr.services entry-point group."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_service(name: str) -> ServiceDefinition:
    """Import one service's definition by name."""
    found = available_services()
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise UnknownServiceError(f"unknown service {name!r}; installed: {known}")
    definition = found[name].load()
    if not isinstance(definition, ServiceDefinition):
        raise TypeError(f"{name}: entry point does not name a ServiceDefinition")
    return definition
