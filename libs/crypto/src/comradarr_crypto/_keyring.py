"""A SecretBox over several keys: encrypts with the active one, decrypts with whichever key
a secret names. How running services switch SECRET_KEY without a restart."""

from __future__ import annotations

import threading

from ._box import SecretBox, _key_id_of
from ._errors import WrongKeyError

__all__ = ["Keyring"]


class Keyring(SecretBox):
    """Encrypts under the active key; decrypts a secret under any key it holds."""

    __slots__ = ("_active", "_boxes", "_lock")

    def __init__(self, secret_key: str) -> None:
        super().__init__(secret_key)
        box = SecretBox(secret_key)
        self._boxes: dict[bytes, SecretBox] = {box.key_id: box}
        self._active = box
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        ids = ", ".join(k.hex() for k in self._boxes)
        return f"Keyring(active={self._active.key_id.hex()}, keys=[{ids}])"

    @property
    def key_id(self) -> bytes:
        """The active key's fingerprint (what new secrets are stored under)."""
        return self._active.key_id

    def holds(self, key_id: bytes) -> bool:
        """Whether a secret under key_id can be decrypted."""
        return key_id in self._boxes

    def add(self, secret_key: str) -> bytes:
        """Hold another key for decrypting (not yet for encrypting); returns its id."""
        box = SecretBox(secret_key)
        with self._lock:
            self._boxes.setdefault(box.key_id, box)
        return box.key_id

    def activate(self, key_id: bytes) -> None:
        """Encrypt under the key with this id from now on (it must be held)."""
        with self._lock:
            self._active = self._boxes[key_id]

    def drop(self, key_id: bytes) -> None:
        """Forget a key that is not active (a rotation that was called off)."""
        with self._lock:
            if key_id != self._active.key_id:
                self._boxes.pop(key_id, None)

    def encrypt(self, plaintext: str, *, aad: bytes) -> bytes:
        """Encrypt under the active key."""
        return self._active.encrypt(plaintext, aad=aad)

    def decrypt(self, token: bytes, *, aad: bytes) -> str:
        """Decrypt with the key the token names."""
        key_id = _key_id_of(bytes(token))
        box = self._boxes.get(key_id) if key_id is not None else None
        if box is None:
            if key_id is None:  # malformed or another version: the box says which
                return self._active.decrypt(token, aad=aad)
            raise WrongKeyError(found_key_id=key_id, expected_key_id=self._active.key_id)
        return box.decrypt(token, aad=aad)
