"""Backups over the API: who may do what, upload and restore, the schedule, and the peer
review's probes 9 (file modes) and 12 (backup ids as paths); probe 6 (zip-slip upload) is in
test_security_probes."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import httpx
import pytest
from comradarr_backup import backups_folder
from comradarr_gateway.config import GatewaySettings

from .conftest import ADMIN, PASSWORD, Harness, make_settings
from .test_security_probes import TRAVERSALS

pytestmark = pytest.mark.integration

ZIP = {"Content-Type": "application/zip"}


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_create_list_download_delete_and_who_may(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.post("/api/v1/backups", json={})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["kind"] == "manual" and made["includes_mirror"] and made["rows"] >= 1
    assert "sessions" in made["left_out"] and len(made["key_fingerprint"]) == 16
    small = (await admin.post("/api/v1/backups", json={"include_mirror": False})).json()
    assert "episodes" in small["left_out"]
    listed = (await admin.get("/api/v1/backups")).json()
    assert {b["id"] for b in listed} == {made["id"], small["id"]}
    # Probe 9: the files and their folder are private.
    folder = backups_folder(harness.data_dir)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for p in folder.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    r = await admin.get(f"/api/v1/backups/{made['id']}/download")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert f'filename="{made["id"]}.zip"' in r.headers["content-disposition"]
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(r.content)).namelist()

    _, full = await harness.api_key(admin, "full")
    _, read = await harness.api_key(admin, "read")
    async with harness.client() as c:
        for key in (full, read):
            assert (await c.get("/api/v1/backups", headers={"X-API-Key": key})).status_code == 200
            for method, path in (
                ("GET", f"/api/v1/backups/{made['id']}/download"),
                ("DELETE", f"/api/v1/backups/{made['id']}"),
                ("POST", f"/api/v1/backups/{made['id']}/restore"),
                ("PATCH", "/api/v1/backups/schedule"),
            ):
                r = await c.request(
                    method, path, json={"current_password": PASSWORD}, headers={"X-API-Key": key}
                )
                assert r.status_code == 403, (method, path, r.text)
            r = await c.post(
                "/api/v1/backups/uploads", content=b"PK", headers={"X-API-Key": key, **ZIP}
            )
            assert r.status_code == 403
        r = await c.post("/api/v1/backups", json={}, headers={"X-API-Key": read})
        assert r.status_code == 403
        r = await c.post("/api/v1/backups", json={}, headers={"X-API-Key": full})
        assert r.status_code == 201
    assert (await admin.delete(f"/api/v1/backups/{made['id']}")).status_code == 204
    assert (await admin.get(f"/api/v1/backups/{made['id']}/download")).status_code == 404
    assert len((await admin.get("/api/v1/backups")).json()) == 2


async def test_upload_checks_then_restore_with_the_password_signs_everyone_out(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    await harness.add_connector(admin, "TV")
    made = (await admin.post("/api/v1/backups", json={})).json()
    raw = (await admin.get(f"/api/v1/backups/{made['id']}/download")).content
    later = await harness.add_connector(admin, "Later")
    r = await admin.post("/api/v1/backups/uploads", content=raw, headers=ZIP)
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["kind"] == "upload" and up["rows"] == made["rows"] and up["migrations_to_apply"] == []
    r = await admin.post("/api/v1/backups/uploads", files={"file": ("b.zip", raw)})
    assert r.status_code == 415 and "Content-Type: application/zip" in r.json()["detail"]
    r = await admin.post(f"/api/v1/backups/{up['id']}/restore", json={"current_password": "nope"})
    assert r.status_code == 403
    assert await harness.pool.fetchval("SELECT count(*) FROM connectors WHERE id = $1", later) == 1
    r = await admin.post(f"/api/v1/backups/{up['id']}/restore", json={"current_password": PASSWORD})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["signed_out"] and done["rows"] == made["rows"] and done["safety_backup_id"]
    assert (await admin.get("/api/v1/auth/me")).status_code == 401
    again = await harness.login()
    names = [c["name"] for c in (await again.get("/api/v1/connectors")).json()]
    assert names == ["TV"]
    kinds = {b["kind"] for b in (await again.get("/api/v1/backups")).json()}
    assert kinds == {"manual", "upload", "prerestore"}


async def test_upload_size_is_limited_and_leaves_nothing(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    big = b"PK" + b"\0" * ((1 << 20) + 10)
    r = await admin.post("/api/v1/backups/uploads", content=big, headers=ZIP)
    assert r.status_code == 413
    assert _files(backups_folder(harness.data_dir)) == []


@pytest.fixture
def gateway_settings() -> GatewaySettings:
    """Uploads in this module are limited to 1 MiB."""
    return make_settings(backup_upload_max_bytes=1 << 20)


# The traversals every id route is probed with, plus ids shaped like a backup's.
CANARY_IDS = [
    *TRAVERSALS,
    "comradarr-backup-20260101T000000Z-manual-0000000a%2F..%2F..%2Fcanary",
    "comradarr-backup-20260101T000000Z-manual-0000000a",
]


async def test_p12_backup_ids_are_never_paths(harness: Harness, admin: httpx.AsyncClient) -> None:
    canary = harness.data_dir / "canary"
    canary.mkdir()
    (canary / "keep").write_text("x")
    (await admin.post("/api/v1/backups", json={})).json()
    before = _files(backups_folder(harness.data_dir))
    for bad in CANARY_IDS:
        for method, path in (
            ("DELETE", f"/api/v1/backups/{bad}"),
            ("GET", f"/api/v1/backups/{bad}/download"),
            ("POST", f"/api/v1/backups/{bad}/restore"),
        ):
            r = await admin.request(method, path, json={"current_password": PASSWORD})
            assert r.status_code in (400, 404, 405, 422), (bad, method, r.status_code, r.text)
    assert (canary / "keep").exists()
    assert _files(backups_folder(harness.data_dir)) == before
    assert await harness.pool.fetchval("SELECT count(*) FROM users WHERE username = $1", ADMIN) == 1


async def test_schedule_settings(harness: Harness, admin: httpx.AsyncClient) -> None:
    s = (await admin.get("/api/v1/backups/schedule")).json()
    assert s["enabled"] is False and s["keep"] == 7 and s["next_runs"] == []
    assert s["effective_folder"].endswith("backups")
    r = await admin.patch(
        "/api/v1/backups/schedule",
        json={"enabled": True, "cron": "15 2 * * 0", "timezone": "Europe/Berlin", "keep": 3},
    )
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["enabled"] and len(s["next_runs"]) == 3 and "02:15" in s["description"]
    for bad in (
        {"cron": "every day"},
        {"timezone": "Mars/Base"},
        {"keep": 0},
        {"folder": "relative/path"},
        {"folder": "/x/../etc"},
    ):
        assert (await admin.patch("/api/v1/backups/schedule", json=bad)).status_code == 422, bad
    r = await admin.patch(
        "/api/v1/backups/schedule", json={"folder": str(harness.data_dir / "nope")}
    )
    assert r.status_code == 422 and "does not exist" in r.json()["detail"]
    other = harness.data_dir / "elsewhere"
    other.mkdir()
    r = await admin.patch("/api/v1/backups/schedule", json={"folder": str(other)})
    assert r.status_code == 200 and r.json()["effective_folder"] == str(other)
    r = await admin.patch("/api/v1/backups/schedule", json={"folder": ""})
    assert r.json()["folder"] is None
