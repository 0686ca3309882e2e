"""Types shared by the repository modules."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A plain connection or one borrowed from a pool: repository functions accept either.
Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
