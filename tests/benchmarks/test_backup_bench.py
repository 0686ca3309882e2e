"""Backup benchmark: size and time of a backup (and of its restore) over a 200,000-episode
mirror, with and without the mirror.

Run: uv run pytest -m benchmark -s tests/benchmarks/test_backup_bench.py
Prints ONE JSON object. Restore is measured into a fresh database (it checks the whole
file, stages, and swaps every table in one transaction).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import asyncpg
import pytest
from comradarr_backup import BackupStore, backup_into, restore_from

from tests.integration.gateway.mirror_seed import seed_mirror

pytestmark = pytest.mark.benchmark

SERIES, SEASONS, PER_SEASON, MOVIES = 2000, 5, 20, 20000  # 200,000 episodes
KEY = "backup-bench-secret-key-0123456789abcdefghijklmn"


async def test_backup_benchmark(
    database_url: str, empty_database_url: str, private_tmp: Path
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        cid = await conn.fetchval(
            "INSERT INTO connectors (type, name, url, api_key_enc) VALUES"
            " ('sonarr', 'bench', 'http://127.0.0.1:9', '\\x00'::bytea) RETURNING id"
        )
        await seed_mirror(
            conn,
            connector_id=cid,
            series=SERIES,
            seasons=SEASONS,
            per_season=PER_SEASON,
            movies=MOVIES,
        )
        await conn.execute(
            "INSERT INTO search_history (registry_id, connector_id, search_type, outcome)"
            " SELECT id, connector_id, search_type, 'no_result' FROM search_registry"
        )
        counts = dict(
            await conn.fetchrow(
                "SELECT (SELECT count(*) FROM episodes) AS episodes,"
                " (SELECT count(*) FROM movies) AS movies,"
                " (SELECT count(*) FROM search_registry) AS registry,"
                " (SELECT count(*) FROM search_history) AS history,"
                " pg_database_size(current_database()) AS database_bytes"
            )
        )
        assert counts["episodes"] == 200_000
        store = BackupStore(private_tmp / "backups")
        figures: dict[str, object] = {"library": counts}
        made = {}
        for label, mirror in (("with_mirror", True), ("without_mirror", False)):
            started = time.perf_counter()
            m = await backup_into(conn, store, secret_key=KEY, tag="bench", include_mirror=mirror)
            seconds = time.perf_counter() - started
            made[label] = m
            figures[label] = {
                "backup_seconds": round(seconds, 2),
                "bytes": m.size,
                "mib": round(m.size / (1 << 20), 1),
                "rows": m.manifest.total_rows(),
                "uncompressed_mib": round(sum(t.bytes for t in m.manifest.tables) / (1 << 20), 1),
                "largest_table": max(m.manifest.tables, key=lambda t: t.bytes).table,
            }
    finally:
        await conn.close()
    target = await asyncpg.connect(empty_database_url)
    try:
        for label, m in made.items():
            started = time.perf_counter()
            done = await restore_from(target, m.path, secret_key=KEY)
            entry = figures[label]
            assert isinstance(entry, dict)
            entry["restore_seconds"] = round(time.perf_counter() - started, 2)
            entry["restore_steps"] = done.result.steps
            assert done.result.rows == m.manifest.total_rows()
    finally:
        await target.close()
    print(json.dumps({"backup": figures}, indent=1))
