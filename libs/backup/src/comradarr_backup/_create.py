"""Making a backup: every table's rows from one consistent snapshot, into one ZIP file."""

from __future__ import annotations

import asyncio
import hashlib
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, BinaryIO

from comradarr_db import Connection

from ._catalogue import SESSION_SETTINGS, quote, read_catalogue, sequence_value
from ._format import (
    ENCRYPTED_TABLES,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MAX_ENCRYPTED_PART,
    MIRROR_TABLES,
    NEVER_BACKED_UP,
    SIGNATURE,
    AppliedMigration,
    Manifest,
    SequenceValue,
    TablePart,
    comradarr_version,
    key_fingerprint,
    manifest_hmac,
    part_name,
    seal_part,
)

FLUSH = 1 << 20
# zlib level 1: most of level 6's size at a fraction of its time on table rows.
COMPRESSLEVEL = 1


@dataclass
class _PartWriter:
    """Collects COPY output and hands it to the ZIP member in large writes, off the loop."""

    member: IO[bytes]
    buffer: bytearray
    digest: hashlib._Hash
    size: int = 0
    rows: int = 0

    async def write(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= FLUSH:
            await self.flush()

    async def flush(self) -> None:
        if not self.buffer:
            return
        chunk = bytes(self.buffer)
        self.buffer.clear()
        self.size += len(chunk)
        self.rows += chunk.count(b"\n")
        self.digest.update(chunk)
        await asyncio.to_thread(self.member.write, chunk)


async def create_backup(
    conn: Connection,
    *,
    secret_key: str,
    dest: BinaryIO,
    include_mirror: bool = True,
) -> Manifest:
    """Write a backup of the database behind conn to dest (a binary file opened for writing).

    One REPEATABLE READ, read-only transaction: every table is read from the same snapshot,
    while the services keep working. Secrets are copied as stored (encrypted).
    """
    created_at = datetime.now(UTC)
    tables: list[TablePart] = []
    sequences: list[SequenceValue] = []
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for statement in SESSION_SETTINGS:
            await conn.execute(statement)
        migrations = [
            AppliedMigration(**dict(r))
            for r in await conn.fetch(
                "SELECT component, version, name, checksum FROM schema_migrations"
                " ORDER BY component, version"
            )
        ]
        catalogue = await read_catalogue(conn)
        left_out = set(NEVER_BACKED_UP) & set(catalogue.tables)
        if not include_mirror:
            left_out |= catalogue.referencing(set(MIRROR_TABLES))
        with zipfile.ZipFile(
            dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL
        ) as zf:
            for table in catalogue.ordered():
                if table in left_out:
                    continue
                columns = catalogue.tables[table]
                if table in ENCRYPTED_TABLES:
                    tables.append(await _copy_sealed(conn, zf, table, columns, secret_key))
                else:
                    tables.append(await _copy_table(conn, zf, table, columns))
            for name in catalogue.sequences:
                last_value, is_called = await sequence_value(conn, "public", name)
                sequences.append(
                    SequenceValue(name=name, last_value=last_value, is_called=is_called)
                )
            manifest = Manifest(
                format=FORMAT,
                format_version=FORMAT_VERSION,
                comradarr_version=comradarr_version(),
                created_at=created_at,
                key_fingerprint=key_fingerprint(secret_key),
                includes_mirror=include_mirror,
                left_out=sorted(left_out),
                components=_levels(migrations),
                migrations=migrations,
                tables=tables,
                sequences=sequences,
            )
            raw = manifest.model_dump_json(indent=1).encode()
            await asyncio.to_thread(zf.writestr, MANIFEST, raw)
            await asyncio.to_thread(zf.writestr, SIGNATURE, manifest_hmac(secret_key, raw))
    return manifest


def _levels(migrations: list[AppliedMigration]) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in migrations:
        out[m.component] = max(out.get(m.component, 0), m.version)
    return out


async def _copy_sealed(
    conn: Connection, zf: zipfile.ZipFile, table: str, columns: list[str], secret_key: str
) -> TablePart:
    """A small table's rows, encrypted whole under SECRET_KEY."""
    cols = ", ".join(quote(c) for c in columns)
    data = bytearray()

    async def collect(chunk: bytes) -> None:
        data.extend(chunk)
        if len(data) > MAX_ENCRYPTED_PART:
            raise ValueError(f"{table} is too large to encrypt whole")

    await conn.copy_from_query(
        f"SELECT {cols} FROM public.{quote(table)}",  # noqa: S608 - names from the catalogue
        output=collect,
        format="text",
    )
    plain = bytes(data)
    await asyncio.to_thread(zf.writestr, part_name(table), seal_part(secret_key, table, plain))
    return TablePart(
        table=table,
        columns=columns,
        rows=plain.count(b"\n"),
        bytes=len(plain),
        sha256=hashlib.sha256(plain).hexdigest(),
        encrypted=True,
    )


async def _copy_table(
    conn: Connection, zf: zipfile.ZipFile, table: str, columns: list[str]
) -> TablePart:
    cols = ", ".join(quote(c) for c in columns)
    member = await asyncio.to_thread(zf.open, part_name(table), "w", force_zip64=True)
    writer = _PartWriter(member=member, buffer=bytearray(), digest=hashlib.sha256())
    try:
        await conn.copy_from_query(
            f"SELECT {cols} FROM public.{quote(table)}",  # noqa: S608 - names from the catalogue
            output=writer.write,
            format="text",
        )
        await writer.flush()
    finally:
        await asyncio.to_thread(member.close)
    return TablePart(
        table=table,
        columns=columns,
        rows=writer.rows,
        bytes=writer.size,
        sha256=writer.digest.hexdigest(),
    )
