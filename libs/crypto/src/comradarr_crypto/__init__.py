"""Secrets at rest (AES-256-GCM) and password hashing (Argon2id) for Comradarr."""

from ._box import FORMAT_VERSION, SecretBox, aad_for
from ._errors import CryptoError, TamperedError, UnsupportedVersionError, WrongKeyError
from ._keyring import Keyring
from ._passwords import PasswordHasher, hash_password, needs_rehash, verify_password
from ._rotate import SecretColumn, rotate_secrets

__all__ = [
    "FORMAT_VERSION",
    "CryptoError",
    "Keyring",
    "PasswordHasher",
    "SecretBox",
    "SecretColumn",
    "TamperedError",
    "UnsupportedVersionError",
    "WrongKeyError",
    "aad_for",
    "hash_password",
    "needs_rehash",
    "rotate_secrets",
    "verify_password",
]
