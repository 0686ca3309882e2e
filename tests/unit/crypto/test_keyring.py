"""Keyring: encrypts under the active key, decrypts under any key it holds."""

from __future__ import annotations

import pytest
from comradarr_crypto import Keyring, SecretBox, WrongKeyError, aad_for

pytestmark = pytest.mark.unit

OLD, NEW = "o" * 40, "n" * 40
AAD = aad_for(table="connectors", column="api_key_enc", row_id=1)


def test_a_new_key_reads_first_and_writes_once_activated() -> None:
    ring = Keyring(OLD)
    under_old = ring.encrypt("secret", aad=AAD)
    new_id = ring.add(NEW)
    assert ring.holds(new_id) and ring.key_id == SecretBox(OLD).key_id
    assert ring.encrypt("x", aad=AAD)[1:9] == SecretBox(OLD).key_id  # not active yet
    ring.activate(new_id)
    under_new = ring.encrypt("secret", aad=AAD)
    assert under_new[1:9] == new_id == ring.key_id
    assert ring.decrypt(under_old, aad=AAD) == ring.decrypt(under_new, aad=AAD) == "secret"
    assert SecretBox(NEW).decrypt(under_new, aad=AAD) == "secret"


def test_an_unknown_key_is_named_and_a_dropped_key_is_gone() -> None:
    ring = Keyring(OLD)
    stranger = SecretBox("s" * 40).encrypt("x", aad=AAD)
    with pytest.raises(WrongKeyError):
        ring.decrypt(stranger, aad=AAD)
    new_id = ring.add(NEW)
    ring.drop(new_id)
    assert not ring.holds(new_id)
    ring.drop(ring.key_id)  # the active key is never dropped
    assert ring.decrypt(ring.encrypt("y", aad=AAD), aad=AAD) == "y"
    assert OLD not in repr(ring) and NEW not in repr(ring)
