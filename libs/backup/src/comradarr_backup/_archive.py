"""Reading a backup file without trusting it: members are checked, then read as streams.

Nothing here writes to disk. A member is found by comparing its name with the names a
backup may hold; its name never becomes a path, so ``../../x``, ``/etc/x`` or a symlink
entry cannot lead anywhere: they are refused before any data is read.
"""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from ._errors import InvalidBackupError, WrongKeyError
from ._format import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MAX_ENCRYPTED_PART,
    PART_NAME,
    SIGNATURE,
    Manifest,
    TablePart,
    key_fingerprint,
    manifest_hmac,
    open_part,
)

CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile file from exhausting memory, disk or time."""

    max_members: int = 512
    max_manifest_bytes: int = 4 << 20
    max_total_bytes: int = 64 << 30  # uncompressed, all parts together
    # Table rows compress about 3-15x; a member claiming far more is a decompression bomb.
    max_ratio: int = 200
    ratio_applies_above: int = 1 << 20


def _refuse(why: str) -> InvalidBackupError:
    return InvalidBackupError(f"refused: {why}; nothing was changed")


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _special(info: zipfile.ZipInfo) -> bool:
    kind = stat.S_IFMT(info.external_attr >> 16)
    return kind != 0 and kind != stat.S_IFREG


class BackupFile:
    """An open backup: its members checked on open, the manifest and parts on demand."""

    def __init__(self, source: Path | BinaryIO, *, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        try:
            self._zip = zipfile.ZipFile(source, "r")
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            raise _refuse(
                f"not a readable Comradarr backup (damaged, truncated or another kind of file: "
                f"{exc})"
            ) from None
        self._key: str | None = None
        try:
            self._members = self._check_members()
        except BaseException:
            self._zip.close()
            raise

    def close(self) -> None:
        """Close the underlying file."""
        self._zip.close()

    def __enter__(self) -> BackupFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_members(self) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        lim = self.limits
        if len(infos) > lim.max_members:
            raise _refuse(f"{len(infos)} members; a Comradarr backup has at most {lim.max_members}")
        found: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if info.orig_filename != name or not (
                name in (MANIFEST, SIGNATURE) or PART_NAME.match(name)
            ):
                raise _refuse(
                    f"member {info.orig_filename[:200]!r} is not a name a Comradarr backup "
                    "holds (a path outside the backup, or not a Comradarr backup at all)"
                )
            if _is_link(info):
                raise _refuse(f"member {name!r} is a symbolic link")
            if info.is_dir() or _special(info):
                raise _refuse(f"member {name!r} is not a regular file")
            if info.flag_bits & 0x1:
                raise _refuse(f"member {name!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _refuse(f"member {name!r} uses an unsupported compression")
            if name in found:
                raise _refuse(f"member {name!r} appears twice")
            size, packed = info.file_size, max(info.compress_size, 1)
            if size > lim.ratio_applies_above and size / packed > lim.max_ratio:
                raise _refuse(
                    f"member {name!r} would expand {size // packed}x ({size} bytes from "
                    f"{info.compress_size}): a decompression bomb"
                )
            total += size
            if total > lim.max_total_bytes:
                raise _refuse(f"it would expand to more than {lim.max_total_bytes} bytes")
            found[name] = info
        return found

    def manifest(self, *, secret_key: str) -> Manifest:
        """The manifest, after checking its format, SECRET_KEY fingerprint and HMAC."""
        if MANIFEST not in self._members:
            raise _refuse("no manifest.json: not a Comradarr backup")
        info = self._members[MANIFEST]
        if info.file_size > self.limits.max_manifest_bytes:
            raise _refuse("manifest.json is too large")
        raw = self._read_small(MANIFEST)
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _refuse("manifest.json is not valid JSON (damaged file)") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise _refuse("manifest.json does not describe a Comradarr backup")
        version = doc.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise InvalidBackupError(
                f"refused: backup format {version!r} is newer than this Comradarr reads "
                f"({FORMAT_VERSION}); upgrade Comradarr, then restore; nothing was changed"
            )
        try:
            manifest = Manifest.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise _refuse(f"manifest.json is malformed ({where}: {first['msg']})") from None
        current = key_fingerprint(secret_key)
        if manifest.key_fingerprint != current:
            raise WrongKeyError(
                backup_fingerprint=manifest.key_fingerprint, current_fingerprint=current
            )
        self._key = secret_key
        if SIGNATURE not in self._members:
            raise _refuse("manifest.hmac is missing")
        signature = self._read_small(SIGNATURE).decode("ascii", "replace").strip()
        if signature != manifest_hmac(secret_key, raw):
            raise _refuse("the manifest's HMAC does not match: the file was altered")
        listed = {t.member for t in manifest.tables}
        if len(listed) != len(manifest.tables):
            raise _refuse("the manifest lists a table twice")
        present = set(self._members) - {MANIFEST, SIGNATURE}
        if listed != present:
            odd = sorted(listed ^ present)[:3]
            raise _refuse(f"the parts do not match the manifest ({', '.join(odd)})")
        return manifest

    def _read_small(self, name: str) -> bytes:
        try:
            with self._zip.open(self._members[name]) as fh:
                return fh.read(self.limits.max_manifest_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise _refuse(f"{name} is damaged ({exc})") from None

    def _sealed(self, part: TablePart) -> Iterator[bytes]:
        info = self._members[part.member]
        if info.file_size > MAX_ENCRYPTED_PART + 64 or self._key is None:
            raise _refuse(f"{part.member} is too large for an encrypted part")
        with self._zip.open(info) as fh:
            sealed = fh.read()
        try:
            plain = open_part(self._key, part.table, sealed)
        except (InvalidTag, ValueError):
            raise _refuse(f"{part.member} failed authentication (altered)") from None
        for start in range(0, len(plain), CHUNK):
            yield plain[start : start + CHUNK]

    def _plain(self, part: TablePart) -> Iterator[bytes]:
        with self._zip.open(self._members[part.member]) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def chunks(self, part: TablePart) -> Iterator[bytes]:
        """The part's bytes in chunks; raises at the end unless size, rows and SHA-256 match."""
        digest = hashlib.sha256()
        size = rows = 0
        source = self._sealed(part) if part.encrypted else self._plain(part)
        try:
            for chunk in source:
                size += len(chunk)
                if size > part.bytes:
                    raise _refuse(f"{part.member} is longer than the manifest says")
                digest.update(chunk)
                rows += chunk.count(b"\n")
                yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise _refuse(f"{part.member} is damaged ({exc})") from None
        if size != part.bytes or digest.hexdigest() != part.sha256:
            raise _refuse(f"{part.member} does not match its SHA-256 in the manifest")
        if rows != part.rows:
            raise _refuse(f"{part.member} holds {rows} rows, the manifest says {part.rows}")

    def verify(self, manifest: Manifest) -> None:
        """Read every part once, checking sizes, row counts and checksums."""
        for part in manifest.tables:
            for _ in self.chunks(part):
                pass
