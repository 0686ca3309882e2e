"""Argon2id password hashing."""

from __future__ import annotations

import pytest
from comradarr_crypto import PasswordHasher, hash_password, needs_rehash, verify_password

pytestmark = pytest.mark.unit


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher.cheap()


def test_hash_and_verify(hasher: PasswordHasher) -> None:
    h = hasher.hash("hunter2")
    assert h.startswith("$argon2id$")
    assert "hunter2" not in h
    assert hasher.verify(h, "hunter2") is True


def test_wrong_password_returns_false(hasher: PasswordHasher) -> None:
    h = hasher.hash("hunter2")
    assert hasher.verify(h, "hunter3") is False
    assert hasher.verify(h, "") is False


def test_malformed_hash_returns_false(hasher: PasswordHasher) -> None:
    assert hasher.verify("not a hash", "hunter2") is False
    assert hasher.verify("", "hunter2") is False


def test_salted(hasher: PasswordHasher) -> None:
    assert hasher.hash("same") != hasher.hash("same")


def test_needs_rehash_when_parameters_change(hasher: PasswordHasher) -> None:
    h = hasher.hash("pw")
    assert hasher.needs_rehash(h) is False
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    assert stronger.needs_rehash(h) is True
    # Verifying still works across parameter sets: parameters live in the hash.
    assert stronger.verify(h, "pw") is True


def test_needs_rehash_for_garbage(hasher: PasswordHasher) -> None:
    assert hasher.needs_rehash("garbage") is True


def test_module_level_functions_use_production_parameters() -> None:
    h = hash_password("correct horse")
    assert "m=65536,t=3,p=4" in h
    assert verify_password(h, "correct horse") is True
    assert verify_password(h, "wrong") is False
    assert needs_rehash(h) is False
    assert needs_rehash(PasswordHasher.cheap().hash("x")) is True
