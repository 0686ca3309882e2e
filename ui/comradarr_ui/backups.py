"""Backups: back up now, the list with download and delete, upload a file, restore (with the
password, after a plain warning), and the backup schedule."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import reflex as rx

from . import api, downloads
from .layout import confirm_button, empty, page
from .state import AuthState, fmt_time

UPLOAD_ID = "backup-upload"
CHUNK = 1 << 20


@dataclass
class BackupRow:
    id: str = ""
    kind: str = ""
    created: str = "—"
    size: str = ""


def size_text(n: Any) -> str:
    """Bytes as people read them."""
    try:
        value = float(n)
    except (TypeError, ValueError):
        return "—"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return "—"


async def _upload(session: api.Session, source: Any) -> Any:
    """Stream an uploaded file to the gateway's upload route; its JSON answer."""

    async def body() -> AsyncIterator[bytes]:
        while chunk := await asyncio.to_thread(source.read, CHUNK):
            yield chunk

    headers = {**api.request_headers("POST", session), "Content-Type": "application/zip"}
    try:
        async with httpx.AsyncClient(
            base_url=api.gateway_url(), timeout=httpx.Timeout(30.0, read=1800.0)
        ) as client:
            resp = await client.post(
                api.PREFIX + "/backups/uploads", content=body(), headers=headers
            )
    except httpx.HTTPError as exc:
        raise api.GatewayError(0, f"cannot reach the gateway ({type(exc).__name__})") from None
    if resp.status_code == 401:
        raise api.Unauthorized(401, api._detail(resp))
    if resp.status_code >= 400:
        raise api.GatewayError(resp.status_code, api._detail(resp))
    return resp.json()


class BackupsState(AuthState):
    backups: list[BackupRow] = []
    note: str = ""
    error: str = ""
    include_mirror: bool = True
    working: bool = False
    confirm_delete: str = ""
    restore_id: str = ""
    restore_password: str = ""
    restore_error: str = ""
    upload_summary: str = ""
    upload_error: str = ""
    # The schedule
    s_enabled: bool = False
    s_cron: str = ""
    s_timezone: str = "UTC"
    s_keep: str = "7"
    s_folder: str = ""
    s_mirror: bool = True
    s_effective: str = ""
    s_description: str = ""
    s_next: str = ""
    s_error: str = ""
    s_saved: str = ""

    @rx.event
    def set_include_mirror(self, v: bool) -> None:
        self.include_mirror = v

    @rx.event
    def set_restore_password(self, v: str) -> None:
        self.restore_password = v

    @rx.event
    def ask_delete(self, backup_id: str) -> None:
        self.confirm_delete = backup_id

    @rx.event
    def ask_restore(self, backup_id: str) -> None:
        self.restore_id, self.restore_password, self.restore_error = backup_id, "", ""

    @rx.event
    def set_s_enabled(self, v: bool) -> None:
        self.s_enabled = v

    @rx.event
    def set_s_cron(self, v: str) -> None:
        self.s_cron = v

    @rx.event
    def set_s_timezone(self, v: str) -> None:
        self.s_timezone = v

    @rx.event
    def set_s_keep(self, v: str) -> None:
        self.s_keep = v

    @rx.event
    def set_s_folder(self, v: str) -> None:
        self.s_folder = v

    @rx.event
    def set_s_mirror(self, v: bool) -> None:
        self.s_mirror = v

    async def _fetch(self) -> None:
        body = await self._guarded("GET", "/backups")
        self.backups = [
            BackupRow(
                id=str(b.get("id", "")),
                kind=str(b.get("kind", "")),
                created=fmt_time(b.get("created_at")),
                size=size_text(b.get("size_bytes")),
            )
            for b in api.items_of(body)
        ]
        self.note = "" if self.backups else "No backups yet."

    def _show_schedule(self, s: dict[str, Any]) -> None:
        self.s_enabled = bool(s.get("enabled"))
        self.s_cron = str(s.get("cron") or "")
        self.s_timezone = str(s.get("timezone") or "UTC")
        self.s_keep = str(s.get("keep") or 7)
        self.s_folder = str(s.get("folder") or "")
        self.s_mirror = bool(s.get("include_mirror", True))
        self.s_effective = str(s.get("effective_folder") or "")
        self.s_description = str(s.get("description") or "")
        runs = [fmt_time(t) for t in s.get("next_runs") or []]
        self.s_next = ("Next: " + ", ".join(runs) + " UTC") if runs else "Off"

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self.error = self.restore_id = self.confirm_delete = ""
        self.upload_summary = self.upload_error = self.s_error = self.s_saved = ""
        try:
            await self._fetch()
            self._show_schedule(await self._guarded("GET", "/backups/schedule"))
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.backups, self.note = [], exc.message
        return None

    @rx.event
    async def create(self):
        self.error, self.working = "", True
        yield
        try:
            body = await self._guarded(
                "POST", "/backups", json={"include_mirror": self.include_mirror}, timeout=1800.0
            )
            await self._fetch()
        except api.Unauthorized:
            self.working = False
            yield self._login_redirect()
            return
        except api.GatewayError as exc:
            self.error, self.working = exc.message, False
            return
        self.working = False
        rows = int((body or {}).get("rows", 0))
        yield rx.toast.success(
            f"Backup written: {rows:,} rows, {size_text(body.get('size_bytes'))}"
        )

    @rx.event
    async def download(self, backup_id: str):
        try:
            url = await downloads.prepare(self._session(), f"/backups/{backup_id}/download", {})
        except api.Unauthorized:
            self._forget()
            return self._login_redirect()
        except api.GatewayError as exc:
            self.error = exc.message
            return None
        return rx.download(url=url, filename=f"{backup_id}.zip")

    @rx.event
    async def delete(self, backup_id: str):
        try:
            await self._guarded("DELETE", f"/backups/{backup_id}")
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.error = exc.message
            return None
        self.confirm_delete = ""
        return rx.toast.success("Backup deleted")

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        self.upload_summary = self.upload_error = ""
        if not files:
            self.upload_error = "Choose a backup file first."
            return
        self.working = True
        yield
        try:
            body = await _upload(self._session(), files[0].file)
            await self._fetch()
        except api.Unauthorized:
            self._forget()
            self.working = False
            yield self._login_redirect()
            return
        except api.GatewayError as exc:
            self.upload_error, self.working = exc.message, False
            yield rx.clear_selected_files(UPLOAD_ID)
            return
        self.working = False
        migrate = body.get("migrations_to_apply") or []
        then = f"; {len(migrate)} migration(s) will bring it up to date" if migrate else ""
        mirror = "" if body.get("includes_mirror") else " (without the library mirror)"
        self.upload_summary = (
            f"A sound backup made {fmt_time(body.get('made_at'))} by Comradarr "
            f"{body.get('comradarr_version')}: {int(body.get('rows', 0)):,} rows in "
            f"{body.get('tables')} tables{mirror}{then}. It is listed as {body.get('id')}; "
            "restore it from the list."
        )
        self.restore_id, self.restore_password, self.restore_error = str(body.get("id")), "", ""
        yield rx.clear_selected_files(UPLOAD_ID)

    @rx.event
    async def restore(self):
        self.restore_error = ""
        if not self.restore_password:
            self.restore_error = "Enter your password to restore."
            return
        self.working = True
        yield
        try:
            body = await self._guarded(
                "POST",
                f"/backups/{self.restore_id}/restore",
                json={"current_password": self.restore_password},
                timeout=3600.0,
            )
        except api.Unauthorized:
            self.working = False
            yield self._login_redirect()
            return
        except api.GatewayError as exc:
            self.working = False
            self.restore_error = "The password is wrong." if exc.status == 403 else exc.message
            return
        self.working, self.restore_password = False, ""
        self._forget()  # the restore signed every session out
        rows = int((body or {}).get("rows", 0))
        yield rx.toast.success(f"Restored {rows:,} rows. Sign in with the backup's account.")
        yield rx.redirect("/login")

    @rx.event
    async def save_schedule(self):
        self.s_error = self.s_saved = ""
        try:
            keep = int(self.s_keep)
        except ValueError:
            self.s_error = "Keep: a whole number, please"
            return None
        body = {
            "enabled": self.s_enabled,
            "cron": self.s_cron,
            "timezone": self.s_timezone,
            "keep": keep,
            "folder": self.s_folder.strip(),
            "include_mirror": self.s_mirror,
        }
        try:
            saved = await self._guarded("PATCH", "/backups/schedule", json=body)
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.s_error = exc.message
            return None
        self._show_schedule(saved)
        self.s_saved = "Saved."
        return rx.toast.success("Backup schedule saved")


def _callout(text: rx.Var, color: str, element_id: str) -> rx.Component:
    return rx.cond(
        text != "",
        rx.callout(text, color_scheme=color, width="100%", id=element_id, role="status"),
    )


def backup_row(r: BackupRow) -> rx.Component:
    s = BackupsState
    return rx.table.row(
        rx.table.cell(rx.code(r.id, size="1")),
        rx.table.cell(rx.badge(r.kind, variant="soft")),
        rx.table.cell(r.created, display=["none", "table-cell"]),
        rx.table.cell(r.size),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    "Download",
                    size="1",
                    variant="soft",
                    on_click=s.download(r.id),
                    class_name="backup-download",
                ),
                rx.button(
                    "Restore…",
                    size="1",
                    variant="soft",
                    color_scheme="orange",
                    on_click=s.ask_restore(r.id),
                    class_name="backup-restore",
                ),
                confirm_button(
                    "Delete",
                    "Confirm delete",
                    asking=s.confirm_delete == r.id,
                    ask=s.ask_delete(r.id),
                    confirm=s.delete(r.id),
                    cancel=s.ask_delete(""),
                    class_name="backup-delete",
                ),
                wrap="wrap",
            )
        ),
        align="center",
        class_name="backup-row",
    )


def create_card() -> rx.Component:
    s = BackupsState
    return rx.card(
        rx.vstack(
            rx.heading("Back up now", size="4"),
            rx.text(
                "One file with every setting, connector, schedule, user, queue entry and "
                "history row. Secrets stay encrypted: restoring needs this install's "
                "SECRET_KEY. Files are private to the service (0600) in its data directory.",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.checkbox(
                "Include the library mirror (leave it out for a small file: the next sync "
                "reads it again, but the queue and search history go with it)",
                checked=s.include_mirror,
                on_change=s.set_include_mirror,
                id="backup-include-mirror",
            ),
            rx.button("Back up now", on_click=s.create, loading=s.working, id="backup-create"),
            _callout(s.error, "red", "backup-error"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def list_card() -> rx.Component:
    s = BackupsState
    return rx.card(
        rx.vstack(
            rx.heading("Backups", size="4"),
            rx.cond(
                s.backups.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Backup"),
                            rx.table.column_header_cell("Kind"),
                            rx.table.column_header_cell("Made", display=["none", "table-cell"]),
                            rx.table.column_header_cell("Size"),
                            rx.table.column_header_cell(""),
                        )
                    ),
                    rx.table.body(rx.foreach(s.backups, backup_row)),
                    width="100%",
                    id="backups",
                ),
                empty(s.note, "archive"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def restore_card() -> rx.Component:
    s = BackupsState
    return rx.cond(
        s.restore_id != "",
        rx.card(
            rx.vstack(
                rx.heading("Restore", size="4", color=rx.color("red", 11)),
                rx.text(
                    "Restoring ",
                    rx.code(s.restore_id),
                    " replaces every setting, connector, schedule, user, API key, queue "
                    "entry and history row with the backup's. Everyone is signed out; sign "
                    "in with the backup's account. The current state is kept first as a "
                    "'prerestore' backup, so this can be undone.",
                    size="2",
                ),
                rx.text(
                    "Your password",
                    size="2",
                    weight="medium",
                    as_="label",
                    html_for="restore-password",
                ),
                rx.input(
                    type="password",
                    value=s.restore_password,
                    on_change=s.set_restore_password,
                    id="restore-password",
                    auto_complete="current-password",
                    max_width="360px",
                    width="100%",
                ),
                _callout(s.restore_error, "red", "restore-error"),
                rx.hstack(
                    rx.button(
                        "Replace everything with this backup",
                        color_scheme="red",
                        on_click=s.restore,
                        loading=s.working,
                        id="restore-submit",
                    ),
                    rx.button(
                        "Cancel", variant="soft", on_click=s.ask_restore(""), id="restore-cancel"
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
            id="restore-confirm",
        ),
    )


def upload_card() -> rx.Component:
    s = BackupsState
    return rx.card(
        rx.vstack(
            rx.heading("Restore from a file", size="4"),
            rx.text(
                "Upload a backup file: it is checked in full (its format, checksums, "
                "SECRET_KEY and version) and kept in the list; nothing changes until you "
                "restore it.",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.upload(
                rx.vstack(
                    rx.icon("upload", size=24),
                    rx.text("Drop a backup file here, or click to choose one", size="2"),
                    rx.foreach(rx.selected_files(UPLOAD_ID), lambda f: rx.code(f, size="1")),
                    align="center",
                ),
                id=UPLOAD_ID,
                max_files=1,
                multiple=False,
                border=f"1px dashed {rx.color('gray', 7)}",
                border_radius="12px",
                padding="20px",
                width="100%",
            ),
            rx.button(
                "Check and keep",
                variant="soft",
                on_click=s.upload(rx.upload_files(upload_id=UPLOAD_ID)),
                loading=s.working,
                id="backup-upload-submit",
            ),
            _callout(s.upload_error, "red", "upload-error"),
            _callout(s.upload_summary, "green", "upload-summary"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _field(label: str, control: rx.Component, hint: str = "", width: str = "auto") -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color=rx.color("gray", 11))),
        spacing="1",
        width=width,
    )


def schedule_card() -> rx.Component:
    s = BackupsState
    return rx.card(
        rx.vstack(
            rx.heading("Scheduled backups", size="4"),
            rx.checkbox(
                "Back up on a schedule",
                checked=s.s_enabled,
                on_change=s.set_s_enabled,
                id="schedule-enabled",
            ),
            rx.flex(
                _field(
                    "When (cron)",
                    rx.input(value=s.s_cron, on_change=s.set_s_cron, id="schedule-cron"),
                    "minute hour day month weekday, e.g. 30 3 * * * for 03:30 every day",
                ),
                _field(
                    "Time zone",
                    rx.input(
                        value=s.s_timezone, on_change=s.set_s_timezone, id="schedule-timezone"
                    ),
                ),
                _field(
                    "Keep the newest",
                    rx.input(
                        value=s.s_keep, on_change=s.set_s_keep, id="schedule-keep", type="number"
                    ),
                    "older scheduled backups are deleted",
                ),
                gap="16px",
                wrap="wrap",
                width="100%",
            ),
            _field(
                "Folder",
                rx.input(
                    value=s.s_folder,
                    on_change=s.set_s_folder,
                    placeholder=s.s_effective,
                    id="schedule-folder",
                    width="100%",
                    max_width="560px",
                ),
                "empty: the backups folder in the data directory; else an existing absolute folder",
                width="100%",
            ),
            rx.checkbox(
                "Include the library mirror",
                checked=s.s_mirror,
                on_change=s.set_s_mirror,
                id="schedule-mirror",
            ),
            rx.text(s.s_description, " · ", s.s_next, size="2", id="schedule-next"),
            rx.hstack(
                rx.button("Save schedule", on_click=s.save_schedule, id="schedule-save"),
                rx.text(s.s_saved, size="2"),
                align="center",
            ),
            _callout(s.s_error, "red", "schedule-error"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def backups() -> rx.Component:
    return page(
        "Backups", create_card(), restore_card(), list_card(), upload_card(), schedule_card()
    )
