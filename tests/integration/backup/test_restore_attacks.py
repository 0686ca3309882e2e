"""Restore refuses every hostile or damaged file before changing anything (probe 6, 12).

Each attack is checked three ways: a clear message, the database exactly as it was
(every table's rows, no staging schema left behind), and no file written anywhere.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path

import asyncpg
import pytest
from comradarr_backup import (
    BackupError,
    BackupStore,
    InvalidBackupError,
    VersionError,
    WrongKeyError,
    backup_into,
    create_backup,
    key_fingerprint,
    restore_from,
)
from comradarr_backup._format import MANIFEST, SIGNATURE, manifest_hmac

from .support import KEY, OTHER_KEY, populate, state

pytestmark = pytest.mark.integration


async def _backup(pool: asyncpg.Pool, key: str = KEY, **kw: bool) -> bytes:
    buf = io.BytesIO()
    async with pool.acquire() as conn:
        await create_backup(conn, secret_key=key, dest=buf, **kw)
    return buf.getvalue()


def _rewrite(raw: bytes, change: object, *, key: str | None = KEY) -> bytes:
    """A copy of a backup with its manifest (and so its parts) changed by change(doc, parts);
    re-signed with key when given, as someone holding the key (or a newer Comradarr) would."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    parts = {i.filename: src.read(i) for i in src.infolist()}
    doc = json.loads(parts.pop(MANIFEST))
    parts.pop(SIGNATURE)
    change(doc, parts)  # type: ignore[operator]
    manifest = json.dumps(doc).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
        z.writestr(MANIFEST, manifest)
        z.writestr(SIGNATURE, manifest_hmac(key or OTHER_KEY, manifest))
    return out.getvalue()


def _part_offset(raw: bytes, member: str) -> int:
    info = zipfile.ZipFile(io.BytesIO(raw)).getinfo(member)
    name_len, extra_len = (
        int.from_bytes(raw[info.header_offset + 26 : info.header_offset + 28], "little"),
        int.from_bytes(raw[info.header_offset + 28 : info.header_offset + 30], "little"),
    )
    return info.header_offset + 30 + name_len + extra_len + info.compress_size // 2


def _evil(entries: list[tuple[zipfile.ZipInfo | str, bytes]], valid: bytes) -> bytes:
    """A real backup with hostile members added."""
    src = zipfile.ZipFile(io.BytesIO(valid))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        for entry, data in entries:
            z.writestr(entry, data)
    return out.getvalue()


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _attacks(valid: bytes) -> dict[str, tuple[bytes, type[BackupError], str]]:
    flipped = bytearray(valid)
    flipped[_part_offset(valid, "tables/episodes.tsv")] ^= 0x01

    def newer(doc: dict, _parts: dict) -> None:  # type: ignore[type-arg]
        doc["migrations"].append(
            {"component": "gateway", "version": 9999, "name": "future", "checksum": "0" * 64}
        )

    def more_rows(doc: dict, _parts: dict) -> None:  # type: ignore[type-arg]
        for t in doc["tables"]:
            if t["table"] == "users":
                t["rows"] += 1

    def bad_rows(doc: dict, parts: dict) -> None:  # type: ignore[type-arg]
        # Syntactically fine, signed, checksummed: fails only inside PostgreSQL (a duplicate
        # primary key), after other tables were already staged.
        import hashlib

        for t in doc["tables"]:
            if t["table"] == "schedules":
                data = parts["tables/schedules.tsv"] * 2
                parts["tables/schedules.tsv"] = data
                t["rows"] *= 2
                t["bytes"] = len(data)
                t["sha256"] = hashlib.sha256(data).hexdigest()

    def sealed_swapped(_doc: dict, parts: dict) -> None:  # type: ignore[type-arg]
        # The encrypted users part moved onto api_keys' name: bound to its table, refused.
        parts["tables/users.tsv"] = parts["tables/api_keys.tsv"]

    def other_format(doc: dict, _parts: dict) -> None:  # type: ignore[type-arg]
        doc["format"] = "sonarr-backup"

    return {
        "zip-slip ../../x": (
            _evil([("../../zs-slip.txt", b"x")], valid),
            InvalidBackupError,
            "'../../zs-slip.txt' is not a name a Comradarr backup holds",
        ),
        "absolute path": (
            _evil([("/tmp/zs-abs.txt", b"x")], valid),
            InvalidBackupError,
            "'/tmp/zs-abs.txt' is not a name",
        ),
        "backslash path": (
            _evil([("..\\..\\zs-win.txt", b"x")], valid),
            InvalidBackupError,
            "is not a name",
        ),
        "symlink then a file through it": (
            _evil(
                [(_symlink("tables/zs_link.tsv"), b"/tmp"), ("tables/zs_link.tsv/x", b"x")], valid
            ),
            InvalidBackupError,
            "symbolic link",
        ),
        "zip bomb": (
            _evil([("tables/zs_bomb.tsv", b"\0" * (64 << 20))], valid),
            InvalidBackupError,
            "decompression bomb",
        ),
        "flipped byte": (bytes(flipped), InvalidBackupError, "tables/episodes.tsv"),
        "truncated": (valid[: len(valid) * 2 // 3], InvalidBackupError, "truncated"),
        "wrong key": (b"", WrongKeyError, "fingerprint"),
        "newer version": (_rewrite(valid, newer), VersionError, "newer Comradarr"),
        "manifest edited, not re-signed": (
            _rewrite(valid, more_rows, key=None),
            InvalidBackupError,
            "HMAC does not match",
        ),
        "row count lies": (_rewrite(valid, more_rows), InvalidBackupError, "holds 1 rows"),
        "rows PostgreSQL rejects": (
            _rewrite(valid, bad_rows),
            InvalidBackupError,
            "PostgreSQL rejected the rows of 'schedules'",
        ),
        "encrypted part altered": (
            _rewrite(valid, sealed_swapped),
            InvalidBackupError,
            "tables/users.tsv failed authentication",
        ),
        "another product's backup": (
            _rewrite(valid, other_format),
            InvalidBackupError,
            "not describe a Comradarr backup",
        ),
        "a Sonarr backup zip": (
            _evil([], _sonarr_zip()),
            InvalidBackupError,
            "not a name a Comradarr backup holds",
        ),
    }


def _sonarr_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("config.xml", "<Config><ApiKey>x</ApiKey></Config>")
        z.writestr("sonarr.db", b"SQLite format 3\0")
    return out.getvalue()


def _files_named(root: Path, fragment: str) -> list[Path]:
    return [p for p in root.rglob(f"*{fragment}*")] if root.exists() else []


async def test_every_attack_is_refused_and_changes_nothing(
    pool: asyncpg.Pool, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await populate(pool)
    valid = await _backup(pool)
    other_install = await _backup(pool, OTHER_KEY)
    before = await state(pool)
    safety = BackupStore(private_tmp / "backups")
    monkeypatch.chdir(private_tmp)
    for name, (raw, error, message) in _attacks(valid).items():
        data = other_install if name == "wrong key" else raw
        async with pool.acquire() as conn:
            with pytest.raises(error) as caught:
                await restore_from(conn, io.BytesIO(data), secret_key=KEY, safety=safety)
        text = str(caught.value)
        assert message in text, (name, text)
        assert "nothing was changed" in text.lower(), (name, text)
        if name == "rows PostgreSQL rejects":
            # Refused inside the transaction, after the safety backup: rolled back.
            assert [b.tag for b in safety.list()] == ["prerestore"]
            for b in safety.list():
                b.path.unlink()
        else:
            # Refused while checking: not even the safety backup was taken.
            assert not safety.list(), name
        assert await state(pool) == before, name
    for root in (private_tmp, Path("/tmp"), Path.cwd()):
        found = [p for p in (root.glob("zs-*") if root == Path("/tmp") else root.rglob("zs*"))]
        assert not found, found


async def test_wrong_key_names_both_fingerprints_and_what_to_do(pool: asyncpg.Pool) -> None:
    await populate(pool)
    raw = await _backup(pool, OTHER_KEY)
    async with pool.acquire() as conn:
        with pytest.raises(WrongKeyError) as caught:
            await restore_from(conn, io.BytesIO(raw), secret_key=KEY)
    text = str(caught.value)
    assert key_fingerprint(OTHER_KEY) in text and key_fingerprint(KEY) in text
    assert "SECRET_KEY" in text and "Nothing was changed" in text
    assert OTHER_KEY not in text and KEY not in text and OTHER_KEY not in raw.decode("latin-1")


async def test_secrets_stay_encrypted_and_the_key_is_never_in_the_file(pool: asyncpg.Pool) -> None:
    await populate(pool)
    raw = await _backup(pool)
    z = zipfile.ZipFile(io.BytesIO(raw))
    connectors = z.read("tables/connectors.tsv").decode()
    assert "\\\\x01aabbccdd" in connectors  # the stored ciphertext, as stored
    whole = b"".join(z.read(i) for i in z.infolist())
    assert KEY.encode() not in whole
    assert "tables/sessions.tsv" not in z.namelist()
    # Password hashes (and API-key hashes) are encrypted inside the file as well.
    assert b"argon2id" not in whole and b"owner" not in z.read("tables/users.tsv")


async def test_p09_backup_files_are_private(pool: asyncpg.Pool, private_tmp: Path) -> None:
    await populate(pool)
    store = BackupStore(private_tmp / "data" / "backups")
    async with pool.acquire() as conn:
        made = await backup_into(conn, store, secret_key=KEY, tag="manual", include_mirror=True)
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    for root, dirs, files in os.walk(private_tmp / "data"):
        for n in dirs + files:
            assert not os.stat(os.path.join(root, n)).st_mode & stat.S_IWOTH
