"""Exceptions raised by comradarr_crypto."""

from __future__ import annotations


class CryptoError(Exception):
    """Base class for every error raised by comradarr_crypto."""


class WrongKeyError(CryptoError):
    """The secret was encrypted under a different SECRET_KEY."""

    def __init__(self, *, found_key_id: bytes, expected_key_id: bytes) -> None:
        self.found_key_id = found_key_id
        self.expected_key_id = expected_key_id
        super().__init__(
            "this secret was encrypted under a different SECRET_KEY "
            f"(key id {found_key_id.hex()}, current key id {expected_key_id.hex()}); "
            "restore the previous key or re-enter the secret"
        )


class TamperedError(CryptoError):
    """Authentication failed: the ciphertext or its associated data was modified."""


class UnsupportedVersionError(CryptoError):
    """The ciphertext uses a format version this library does not know."""

    def __init__(self, version: int | None) -> None:
        self.version = version
        shown = "missing" if version is None else str(version)
        super().__init__(f"unsupported secret format version {shown}")
