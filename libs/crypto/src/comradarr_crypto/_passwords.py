"""Argon2id password hashing."""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["PasswordHasher", "hash_password", "needs_rehash", "verify_password"]


class PasswordHasher:
    """Argon2id hasher; the defaults are argon2-cffi's RFC 9106 low-memory profile."""

    __slots__ = ("_hasher",)

    def __init__(
        self,
        *,
        time_cost: int = argon2.DEFAULT_TIME_COST,
        memory_cost: int = argon2.DEFAULT_MEMORY_COST,
        parallelism: int = argon2.DEFAULT_PARALLELISM,
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )

    @classmethod
    def cheap(cls) -> PasswordHasher:
        """Return a deliberately weak hasher for tests only."""
        return cls(time_cost=1, memory_cost=8, parallelism=1)

    def hash(self, password: str) -> str:
        """Return an encoded Argon2id hash of password with a random salt."""
        return self._hasher.hash(password)

    def verify(self, hash: str, password: str) -> bool:
        """Return whether password matches hash; False (never an error) on mismatch."""
        try:
            return self._hasher.verify(hash, password)
        # A malformed stored hash also answers False: a login form must not
        # turn a corrupt row into a server error, and nobody can log in with it.
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hash: str) -> bool:
        """Return whether hash was made with other parameters than this hasher's."""
        try:
            return self._hasher.check_needs_rehash(hash)
        except InvalidHashError:
            return True


_default = PasswordHasher()


def hash_password(password: str) -> str:
    """Hash password with the default Argon2id parameters."""
    return _default.hash(password)


def verify_password(hash: str, password: str) -> bool:
    """Return whether password matches hash under the default hasher."""
    return _default.verify(hash, password)


def needs_rehash(hash: str) -> bool:
    """Return whether hash should be recomputed with the default parameters."""
    return _default.needs_rehash(hash)
