"""The backup file: a ZIP holding table parts, a manifest and the manifest's HMAC.

Every member name is one of a fixed set (``manifest.json``, ``manifest.hmac``,
``tables/<table>.tsv``); a reader never uses a name as a path, it only looks parts up by it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from datetime import datetime
from importlib import metadata
from typing import Annotated

from comradarr_crypto import SecretBox
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, Field

FORMAT = "comradarr-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.hmac"
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PART_NAME = re.compile(r"^tables/([a-z_][a-z0-9_]{0,62})\.tsv$")
# Backup ids are generated here and checked against this pattern wherever one arrives
# from outside (API path, CLI argument): an id is never a path.
BACKUP_ID = re.compile(r"^comradarr-backup-\d{8}T\d{6}Z-[a-z0-9]{1,12}-[0-9a-f]{8}$")
SUFFIX = ".zip"

# The content mirror: re-derivable from the *arr apps. Tables that reference it by foreign
# key (the search queue and its history) go with it; they are found from the catalogue.
MIRROR_TABLES = ("series", "seasons", "episodes", "movies", "qualities", "quality_profiles")
# Never in a backup: sessions are credentials of this moment (a restore signs everyone out),
# and the migration history is carried by the manifest.
NEVER_BACKED_UP = ("sessions", "schema_migrations")

# Tables whose rows are encrypted inside the file (besides the secrets already encrypted
# in their columns): password hashes and API-key hashes are nobody's business who holds a
# downloaded backup without the key. Small tables: encrypted whole, in memory.
ENCRYPTED_TABLES = ("users", "api_keys")
MAX_ENCRYPTED_PART = 64 << 20

_HMAC_INFO = b"comradarr backup manifest v1"
_PART_INFO = b"comradarr backup parts v1"
_NONCE = 12


def part_name(table: str) -> str:
    """The member name of a table's rows."""
    if not TABLE_NAME.match(table):
        raise ValueError(f"not a table name: {table!r}")
    return f"tables/{table}.tsv"


def comradarr_version() -> str:
    """The installed Comradarr version (of its runtime package)."""
    try:
        return metadata.version("comradarr-runtime")
    except metadata.PackageNotFoundError:  # pragma: no cover - always installed with us
        return "0.0.0"


def key_fingerprint(secret_key: str) -> str:
    """A fingerprint of SECRET_KEY: the id stored in every encrypted secret (never the key)."""
    return SecretBox(secret_key).key_id.hex()


def manifest_hmac(secret_key: str, manifest: bytes) -> str:
    """HMAC-SHA256 of the manifest under a key derived from SECRET_KEY (its own label)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HMAC_INFO).derive(
        secret_key.encode()
    )
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


Identifier = Annotated[str, Field(pattern=TABLE_NAME.pattern)]


def _part_key(secret_key: str) -> AESGCM:
    return AESGCM(
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PART_INFO).derive(
            secret_key.encode()
        )
    )


def seal_part(secret_key: str, table: str, data: bytes) -> bytes:
    """A table part encrypted and bound to its table name: nonce then ciphertext."""
    nonce = os.urandom(_NONCE)
    return nonce + _part_key(secret_key).encrypt(nonce, data, f"backup:{table}".encode())


def open_part(secret_key: str, table: str, sealed: bytes) -> bytes:
    """The plaintext of seal_part's output; InvalidTag when altered or under another key."""
    nonce, body = sealed[:_NONCE], sealed[_NONCE:]
    return _part_key(secret_key).decrypt(nonce, body, f"backup:{table}".encode())


class AppliedMigration(BaseModel):
    """One row of schema_migrations at backup time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    component: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    version: int = Field(ge=0, le=9999)
    name: str = Field(max_length=200)
    checksum: str = Field(pattern=r"^[0-9a-f]{64}$")


class TablePart(BaseModel):
    """One table's rows: PostgreSQL COPY text, one row per line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str = Field(pattern=TABLE_NAME.pattern)
    columns: list[Identifier] = Field(min_length=1, max_length=1600)
    rows: int = Field(ge=0)
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    encrypted: bool = Field(
        default=False, description="AES-256-GCM under SECRET_KEY (password and key hashes)."
    )

    @property
    def member(self) -> str:
        """The ZIP member holding the rows."""
        return part_name(self.table)


class SequenceValue(BaseModel):
    """A sequence's position at backup time, so new rows never reuse an id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=TABLE_NAME.pattern)
    last_value: int
    is_called: bool


class Manifest(BaseModel):
    """What a backup holds and how to check it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str
    format_version: int
    comradarr_version: str = Field(max_length=64)
    created_at: datetime
    key_fingerprint: str = Field(pattern=r"^[0-9a-f]{16}$")
    includes_mirror: bool
    left_out: list[str] = Field(default_factory=list, max_length=200)
    # Each component's highest migration, for people reading the manifest; the check uses
    # the full list below.
    components: dict[str, int] = Field(default_factory=dict, max_length=200)
    migrations: list[AppliedMigration] = Field(max_length=10_000)
    tables: list[TablePart] = Field(max_length=500)
    sequences: list[SequenceValue] = Field(default_factory=list, max_length=1000)

    def schema_versions(self) -> dict[str, int]:
        """Each component's highest applied migration (from the full list)."""
        out: dict[str, int] = {}
        for m in self.migrations:
            out[m.component] = max(out.get(m.component, 0), m.version)
        return out

    def total_rows(self) -> int:
        """Rows across every table."""
        return sum(t.rows for t in self.tables)
