"""Re-encrypting stored secrets under a new SECRET_KEY."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import asyncpg

from ._box import SecretBox, _key_id_of, aad_for

__all__ = ["SecretColumn", "rotate_secrets"]

# asyncpg cannot bind identifiers as parameters, so they are validated against
# a deliberately narrow pattern and then double-quoted.
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class SecretColumn(NamedTuple):
    """A bytea column holding secrets, with the column that identifies its rows."""

    table: str
    id_column: str
    column: str


def _quote(identifier: str) -> str:
    if not _IDENTIFIER.fullmatch(identifier):
        raise ValueError(f"invalid SQL identifier {identifier!r}: must match {_IDENTIFIER.pattern}")
    return f'"{identifier}"'


async def rotate_secrets(
    conn: asyncpg.Connection,
    *,
    old: SecretBox,
    new: SecretBox,
    columns: Sequence[SecretColumn],
) -> int:
    """Re-encrypt every stored secret from old to new in one transaction; return the count."""
    if old.key_id == new.key_id:
        raise ValueError("old and new SECRET_KEY derive the same key; nothing to rotate")
    # Validate every identifier before touching the database.
    statements = []
    for col in columns:
        table, id_col, value_col = _quote(col.table), _quote(col.id_column), _quote(col.column)
        select = (
            f"SELECT {id_col}, {value_col} FROM {table} "  # noqa: S608 - identifiers quoted above
            f"WHERE {value_col} IS NOT NULL FOR UPDATE"
        )
        update = f"UPDATE {table} SET {value_col} = $1 WHERE {id_col} = $2"  # noqa: S608
        statements.append((col, select, update))

    count = 0
    # One transaction for all columns: a failure on any row leaves every
    # secret under the old key, so the old SECRET_KEY keeps working.
    async with conn.transaction():
        for col, select, update in statements:
            updates: list[tuple[bytes, object]] = []
            for row_id, token in await conn.fetch(select):
                # Rows already under the new key are skipped so an interrupted
                # operator workflow can simply be re-run.
                if _key_id_of(token) == new.key_id:
                    continue
                aad = aad_for(table=col.table, column=col.column, row_id=row_id)
                try:
                    plaintext = old.decrypt(token, aad=aad)
                except Exception as exc:
                    exc.add_note(f"while rotating {col.table}.{col.column} row {row_id!r}")
                    raise
                updates.append((new.encrypt(plaintext, aad=aad), row_id))
            if updates:
                await conn.executemany(update, updates)
            count += len(updates)
    return count
