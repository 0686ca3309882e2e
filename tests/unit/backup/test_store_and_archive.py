"""The backups folder and the reader's member checks, without a database.

Probe 9 (file permissions), probe 12 (backup ids as paths) and the member attacks of
probe 6 (zip-slip names, absolute paths, symlinks, decompression bombs) at the unit level.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from comradarr_backup import BackupFile, BackupStore, InvalidBackupError, UnknownBackupError
from comradarr_backup._format import MANIFEST, key_fingerprint, manifest_hmac

TRAVERSALS = [
    "..",
    "../canary",
    "../../",
    "%2e%2e%2f",
    "%252e%252e%252f",
    "..%5c",
    "/etc",
    "C:\\",
    "x/../../canary",
    "comradarr-backup-20260101T000000Z-manual-0000000a/../../canary",
    "comradarr-backup-20260101T000000Z-manual-0000000a.zip",
    "",
]


def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for info, data in entries:
            z.writestr(info, data)
    return buf.getvalue()


def test_folder_is_0700_and_files_0600(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)  # noqa: S103 - the store must tighten it
    store = BackupStore(folder)
    with store.writing("manual") as (backup_id, fh):
        fh.write(b"x")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    path = store.path_of(backup_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in folder.iterdir() if p.name.endswith(".partial")]


def test_stale_partial_files_are_swept_fresh_ones_kept(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    stale, fresh = folder / ".upload-1.partial", folder / ".upload-2.partial"
    other = folder / "notes.partial"
    for p in (stale, fresh, other):
        p.write_bytes(b"x")
    os.utime(stale, (1, 1))
    os.utime(other, (1, 1))
    BackupStore(folder).ensure()
    assert not stale.exists() and fresh.exists() and other.exists()


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "b")
    with pytest.raises(RuntimeError), store.writing("manual") as (_id, fh):
        fh.write(b"half")
        raise RuntimeError("boom")
    assert list((tmp_path / "b").iterdir()) == []


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_p12_ids_that_are_paths_are_refused(tmp_path: Path, bad: str) -> None:
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "keep").write_text("x")
    store = BackupStore(tmp_path / "backups")
    store.ensure()
    with pytest.raises(UnknownBackupError):
        store.path_of(bad)
    with pytest.raises(UnknownBackupError):
        store.delete(bad)
    assert (canary / "keep").exists()


def test_list_ignores_other_files_and_symlinks_and_prune_keeps_the_newest(tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "backups")
    folder = store.ensure()
    (folder / "notes.txt").write_text("x")
    (folder / "comradarr-backup-20260101T000000Z-manual-0000000a.zip").symlink_to("/etc/hostname")
    made = []
    for day in ("01", "02", "03"):
        backup_id = f"comradarr-backup-202602{day}T000000Z-scheduled-0000000{day[-1]}"
        (folder / f"{backup_id}.zip").write_bytes(b"z")
        made.append(backup_id)
    (folder / "comradarr-backup-20260304T000000Z-manual-0000000b.zip").write_bytes(b"z")
    listed = [b.id for b in store.list()]
    assert listed[0].endswith("manual-0000000b") and len(listed) == 4
    assert store.prune(tag="scheduled", keep=2) == [made[0]]
    assert [b.id for b in store.list() if b.tag == "scheduled"] == made[:0:-1]
    with pytest.raises(UnknownBackupError):
        store.path_of("comradarr-backup-20260101T000000Z-manual-0000000a")  # the symlink


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("../../x", b"x")], "not a name a Comradarr backup holds"),
        ([("/tmp/zs-abs", b"x")], "not a name a Comradarr backup holds"),
        ([("..\\..\\zs-win", b"x")], "not a name a Comradarr backup holds"),
        ([("tables/../../x.tsv", b"x")], "not a name a Comradarr backup holds"),
        ([("config.xml", b"<Config/>"), ("sonarr.db", b"SQLite")], "not a Comradarr backup"),
        ([("tables/users.tsv", b"a"), ("tables/users.tsv", b"b")], "appears twice"),
        ([("tables/users.tsv", b"\0" * (40 << 20))], "decompression bomb"),
        ([("tables/users.tsv", b"x")], "no manifest.json"),
    ],
)
def test_hostile_members_are_refused_before_anything_is_read(
    entries: list[tuple[str, bytes]], message: str
) -> None:
    with pytest.warns(UserWarning) if len({e[0] for e in entries}) < len(entries) else _nothing():
        raw = _zip(list(entries))
    with pytest.raises(InvalidBackupError, match=message) as err:
        BackupFile(io.BytesIO(raw)).manifest(secret_key="k" * 40)
    assert "nothing was changed" in str(err.value)


def test_symlink_member_is_refused() -> None:
    link = zipfile.ZipInfo("tables/users.tsv")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    raw = _zip([(link, b"/etc/passwd")])
    with pytest.raises(InvalidBackupError, match="symbolic link"):
        BackupFile(io.BytesIO(raw))


def test_truncated_and_foreign_files_are_refused() -> None:
    raw = _zip([(MANIFEST, b"{}")])
    with pytest.raises(InvalidBackupError, match="damaged, truncated"):
        BackupFile(io.BytesIO(raw[: len(raw) // 2]))
    with pytest.raises(InvalidBackupError, match="damaged, truncated"):
        BackupFile(io.BytesIO(b"PK\x03\x04 not really a zip"))
    with pytest.raises(InvalidBackupError, match="does not describe a Comradarr backup"):
        BackupFile(io.BytesIO(raw)).manifest(secret_key="k" * 40)


def test_fingerprint_is_not_the_key_and_hmac_depends_on_it() -> None:
    key = "s" * 48
    fp = key_fingerprint(key)
    assert len(fp) == 16 and fp not in key and key_fingerprint("t" * 48) != fp
    assert manifest_hmac(key, b"m") != manifest_hmac("t" * 48, b"m")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
