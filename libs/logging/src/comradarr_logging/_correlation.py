"""Correlation ids carried in a contextvar, so asyncio tasks inherit them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = [
    "bind_correlation_id",
    "correlation_id",
    "correlation_scope",
    "get_correlation_id",
    "new_correlation_id",
]

correlation_id: ContextVar[str | None] = ContextVar("comradarr_correlation_id", default=None)


def new_correlation_id() -> str:
    """Return a fresh random correlation id (uuid4 hex)."""
    return uuid.uuid4().hex


def bind_correlation_id(cid: str | None = None) -> str:
    """Set the correlation id for the current context (a new one when None) and return it."""
    value = cid if cid is not None else new_correlation_id()
    correlation_id.set(value)
    return value


def get_correlation_id() -> str | None:
    """Return the correlation id of the current context, if any."""
    return correlation_id.get()


@contextmanager
def correlation_scope(cid: str | None = None) -> Iterator[str]:
    """Bind a correlation id (a new one when None) for a block, then restore the previous."""
    value = cid if cid is not None else new_correlation_id()
    token = correlation_id.set(value)
    try:
        yield value
    finally:
        correlation_id.reset(token)
