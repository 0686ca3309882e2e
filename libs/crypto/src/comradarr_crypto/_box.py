"""AES-256-GCM encryption of secrets at rest."""

from __future__ import annotations

import hashlib
import json
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._errors import TamperedError, UnsupportedVersionError, WrongKeyError

__all__ = ["FORMAT_VERSION", "SecretBox", "aad_for"]

FORMAT_VERSION = 1
# Changing the label yields a different key for the same SECRET_KEY, so it is
# part of the on-disk format and must only change together with FORMAT_VERSION.
_HKDF_INFO = b"comradarr secrets v1"
_KEY_ID_LEN = 8
_NONCE_LEN = 12
_TAG_LEN = 16
_HEADER_LEN = 1 + _KEY_ID_LEN + _NONCE_LEN


def aad_for(*, table: str, column: str, row_id: int | str | uuid.UUID) -> bytes:
    """Return the associated data that binds a secret to one row's column."""
    # JSON keeps the parts unambiguous ("a.b"+"c" never equals "a"+"b.c");
    # str(row_id) makes 42 and "42" the same row, as they are in the database.
    parts = ["comradarr", FORMAT_VERSION, table, column, str(row_id)]
    return json.dumps(parts, separators=(",", ":")).encode()


def _key_id_of(token: bytes) -> bytes | None:
    """Return the key id of a well-formed current-version token, else None."""
    if len(token) < _HEADER_LEN + _TAG_LEN or token[0] != FORMAT_VERSION:
        return None
    return bytes(token[1 : 1 + _KEY_ID_LEN])


class SecretBox:
    """Encrypts and decrypts short secrets under a key derived from SECRET_KEY."""

    __slots__ = ("_aead", "_key_id")

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("SECRET_KEY must not be empty")
        # HKDF rather than using the setting directly: SECRET_KEY is an
        # arbitrary-length string, AES-256 needs exactly 32 uniform bytes.
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            secret_key.encode()
        )
        self._aead = AESGCM(key)
        self._key_id = hashlib.sha256(key).digest()[:_KEY_ID_LEN]

    def __repr__(self) -> str:
        # Never show key material; the id is enough to tell boxes apart.
        return f"SecretBox(key_id={self._key_id.hex()})"

    @property
    def key_id(self) -> bytes:
        """Return the 8-byte fingerprint of the derived key stored in every ciphertext."""
        return self._key_id

    def encrypt(self, plaintext: str, *, aad: bytes) -> bytes:
        """Encrypt plaintext bound to aad; every call uses a fresh random nonce."""
        nonce = os.urandom(_NONCE_LEN)
        header = bytes([FORMAT_VERSION]) + self._key_id + nonce
        # The header is authenticated too, so a swapped key id or version byte
        # can never be combined with a valid tag.
        return header + self._aead.encrypt(nonce, plaintext.encode(), header + aad)

    def decrypt(self, token: bytes, *, aad: bytes) -> str:
        """Decrypt a token produced by encrypt with the same aad."""
        token = bytes(token)
        if not token:
            raise UnsupportedVersionError(None)
        if token[0] != FORMAT_VERSION:
            raise UnsupportedVersionError(token[0])
        if len(token) < _HEADER_LEN + _TAG_LEN:
            raise TamperedError("secret is truncated")
        key_id = token[1 : 1 + _KEY_ID_LEN]
        if key_id != self._key_id:
            raise WrongKeyError(found_key_id=key_id, expected_key_id=self._key_id)
        header = token[:_HEADER_LEN]
        nonce = token[1 + _KEY_ID_LEN : _HEADER_LEN]
        try:
            plaintext = self._aead.decrypt(nonce, token[_HEADER_LEN:], header + aad)
        except InvalidTag:
            raise TamperedError(
                "secret failed authentication: it was modified or belongs to another row"
            ) from None
        return plaintext.decode()
