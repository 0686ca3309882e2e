"""What a schema holds: tables with their columns, foreign keys and sequences."""

from __future__ import annotations

from dataclasses import dataclass, field

from comradarr_db import Connection

_TABLES = """
SELECT c.relname AS name,
       array_agg(a.attname::text ORDER BY a.attnum) AS columns
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                   AND a.attgenerated = ''
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
GROUP BY c.relname
ORDER BY c.relname
"""

_REFERENCES = """
SELECT DISTINCT src.relname AS child, dst.relname AS parent
FROM pg_constraint k
JOIN pg_class src ON src.oid = k.conrelid
JOIN pg_class dst ON dst.oid = k.confrelid
JOIN pg_namespace n ON n.oid = src.relnamespace
WHERE k.contype = 'f' AND n.nspname = $1 AND src.oid <> dst.oid
"""

_SEQUENCES = """
SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY c.relname
"""


# References kept by triggers rather than foreign keys (mirror migration 0006: set-based
# checks over transition tables); the catalogue cannot see them, so they are named here.
TRIGGER_PARENTS = {"episodes": {"series"}, "seasons": {"series"}}


def quote(name: str) -> str:
    """A quoted SQL identifier (names come from the catalogue or a checked pattern)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Catalogue:
    """Tables (non-generated columns in order), references child -> parents, sequences."""

    schema: str
    tables: dict[str, list[str]]
    parents: dict[str, set[str]] = field(default_factory=dict)
    sequences: list[str] = field(default_factory=list)

    def ordered(self, names: set[str] | None = None) -> list[str]:
        """Tables with every referenced table before the tables that reference it."""
        wanted = set(self.tables) if names is None else names & set(self.tables)
        done: list[str] = []
        seen: set[str] = set()

        def visit(name: str, path: frozenset[str]) -> None:
            if name in seen or name in path:
                return
            for parent in sorted(self.parents.get(name, ())):
                if parent in wanted:
                    visit(parent, path | {name})
            seen.add(name)
            done.append(name)

        for name in sorted(wanted):
            visit(name, frozenset())
        return done

    def referencing(self, roots: set[str]) -> set[str]:
        """roots and every table that references one of them, directly or not."""
        out = set(roots) & set(self.tables)
        grew = True
        while grew:
            grew = False
            for child, parents in self.parents.items():
                if child not in out and parents & out:
                    out.add(child)
                    grew = True
        return out


async def read_catalogue(conn: Connection, schema: str = "public") -> Catalogue:
    """Read the catalogue of one schema."""
    tables = {r["name"]: list(r["columns"]) for r in await conn.fetch(_TABLES, schema)}
    parents: dict[str, set[str]] = {}
    for r in await conn.fetch(_REFERENCES, schema):
        parents.setdefault(r["child"], set()).add(r["parent"])
    for child, extra in TRIGGER_PARENTS.items():
        if child in tables:
            parents.setdefault(child, set()).update(extra & tables.keys())
    sequences = [r["name"] for r in await conn.fetch(_SEQUENCES, schema)]
    return Catalogue(schema=schema, tables=tables, parents=parents, sequences=sequences)


async def sequence_value(conn: Connection, schema: str, name: str) -> tuple[int, bool]:
    """A sequence's last_value and is_called."""
    row = await conn.fetchrow(
        f"SELECT last_value, is_called FROM {quote(schema)}.{quote(name)}"  # noqa: S608
    )
    assert row is not None
    return int(row["last_value"]), bool(row["is_called"])


# Text COPY output depends on these; both sides fix them so a file reads the same anywhere.
SESSION_SETTINGS = (
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 3",
    "SET LOCAL bytea_output = 'hex'",
)
