"""Maintenance: database size by table, the maintenance runs (last, next, what each removed),
the retention settings (saved through the settings API and used by the next run), run now."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import reflex as rx

from . import api, live
from .configuration import config_card, key_card
from .layout import empty, page
from .state import AuthState, fmt_time

POLL_SECONDS = 3.0
WATCH_MINUTES = 10

# (field, section, label, help): every retention the run applies, in the page's order.
RETENTION_FIELDS: list[tuple[str, str, str, str]] = [
    ("search_history_days", "maintenance", "Search history", "folded into daily counts"),
    ("exhausted_entries_days", "maintenance", "Exhausted queue entries", "0 keeps them"),
    ("api_key_usage_days", "maintenance", "API-key usage", ""),
    ("connector_health_days", "maintenance", "Connector health history", ""),
    ("run_history_days", "maintenance", "Sync, discovery and sweep runs", ""),
    ("processed_messages_days", "maintenance", "Processed-message markers", "at least 8"),
    ("dead_letters_days", "maintenance", "Dead letters", ""),
    ("delivery_log_retention_days", "notifications", "Notification deliveries", ""),
    ("hourly_retention_days", "analytics", "Analytics hours", "then kept as days"),
    ("daily_retention_days", "analytics", "Analytics days", ""),
]


def fmt_bytes(n: Any) -> str:
    """1536 -> '1.5 KiB'."""
    size = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def fmt_local(value: Any, tz: str) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM' in the time zone tz (the cron's)."""
    if not value:
        return "—"
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    except (ValueError, ZoneInfoNotFoundError):
        return fmt_time(value)


def fmt_seconds(s: Any) -> str:
    """Seconds as '0.4 s', '2 min 5 s'."""
    if s is None:
        return "—"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    return f"{int(s // 60)} min {int(s % 60)} s"


def removed_text(steps: list[dict[str, Any]]) -> str:
    """'search_history 1,204 · sessions 3' (tables with something removed), else 'nothing'."""
    parts = [
        f"{table} {count:,}"
        for step in steps
        for table, count in sorted((step.get("removed") or {}).items())
        if count
    ]
    return " · ".join(parts) or "nothing"


@dataclass
class TableRow:
    name: str = ""
    size: str = ""
    rows: str = ""


@dataclass
class RunRow:
    id: str = ""
    trigger: str = ""
    status: str = ""
    started: str = ""
    duration: str = ""
    removed: str = ""
    detail: str = ""
    error: str = ""


@dataclass
class RetentionRow:
    key: str = ""
    label: str = ""
    help: str = ""
    value: str = ""


def _run_row(r: dict[str, Any], tz: str) -> RunRow:
    return RunRow(
        id=str(r.get("id", "")),
        trigger="scheduled" if r.get("trigger") == "schedule" else "run now",
        status=str(r.get("status", "")),
        started=fmt_local(r.get("started_at"), tz),
        duration=fmt_seconds(r.get("seconds")),
        removed=f"{int(r.get('removed') or 0):,} rows",
        detail=removed_text(r.get("steps") or []),
        error=str(r.get("error") or ""),
    )


class MaintenanceState(AuthState):
    database_size: str = ""
    tables: list[TableRow] = []
    runs: list[RunRow] = []
    last_run: RunRow = RunRow()
    has_last: bool = False
    running: bool = False
    next_run: str = "—"
    timezone: str = "UTC"
    enabled: bool = True
    cron: str = ""
    retention: list[RetentionRow] = []
    note: str = ""
    save_error: str = ""
    save_done: str = ""
    live: bool = False
    _polling: bool = False
    _watch_until: float = 0.0

    def _apply(self, body: Any) -> None:
        body = body if isinstance(body, dict) else {}
        self.database_size = fmt_bytes(body.get("database_bytes"))
        self.tables = [
            TableRow(name=t["name"], size=fmt_bytes(t["bytes"]), rows=f"{int(t['rows']):,}")
            for t in (body.get("tables") or [])[:25]
        ]
        tz = self.timezone = str(body.get("timezone") or "UTC")
        self.runs = [_run_row(r, tz) for r in body.get("runs") or []]
        last = body.get("last_run")
        self.has_last = bool(last)
        self.last_run = _run_row(last, tz) if last else RunRow()
        self.running = bool(body.get("running"))
        nxt = body.get("next_run_at")
        self.next_run = fmt_local(nxt, tz) if nxt else "off"

    def _apply_settings(self, body: Any) -> None:
        retention = body.get("retention") or {}
        m = retention.get("maintenance") or {}
        self.enabled = bool(m.get("enabled", True))
        self.cron = str(m.get("cron", ""))
        values = {**m, **retention}
        self.retention = [
            RetentionRow(key=key, label=label, help=help_, value=str(values.get(key, "")))
            for key, _section, label, help_ in RETENTION_FIELDS
        ]

    async def _fetch(self, *, with_settings: bool) -> None:
        body = await self._guarded("GET", "/maintenance")
        self._apply(body)
        if with_settings:
            self._apply_settings(body)

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self.note = self.save_error = self.save_done = ""
        try:
            await self._fetch(with_settings=True)
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.note = exc.message
            return None
        return self._watch()

    def _watch(self):
        self._watch_until = time.monotonic() + WATCH_MINUTES * 60
        return None if self._polling else MaintenanceState.poll

    @rx.event(background=True)
    async def poll(self):
        """Refresh the runs and sizes while this tab shows the page (a run goes on)."""

        async def fetch(session: api.Session, _params: Any) -> Any:
            body, _ = await api.call("GET", "/maintenance", session=session)
            return body

        await live.follow(
            self, path="/maintenance", seconds=POLL_SECONDS, fetch=fetch, apply=self._apply
        )

    @rx.event
    def set_value(self, key: str, value: str) -> None:
        self.retention = [
            RetentionRow(key=r.key, label=r.label, help=r.help, value=value) if r.key == key else r
            for r in self.retention
        ]

    @rx.event
    def set_cron(self, value: str) -> None:
        self.cron = value

    @rx.event
    def set_enabled(self, value: bool) -> None:
        self.enabled = value

    def _changes(self) -> dict[str, Any] | str:
        sections: dict[str, dict[str, Any]] = {
            "maintenance": {"enabled": self.enabled, "cron": self.cron.strip()}
        }
        section_of = {key: section for key, section, _l, _h in RETENTION_FIELDS}
        for r in self.retention:
            text = r.value.strip()
            if not text.isdigit():
                return f"{r.label}: a whole number of days, please."
            sections.setdefault(section_of[r.key], {})[r.key] = int(text)
        return sections

    @rx.event
    async def save(self):
        self.save_error = self.save_done = ""
        changes = self._changes()
        if isinstance(changes, str):
            self.save_error = changes
            return None
        try:
            await self._guarded("PATCH", "/settings", json=changes)
            await self._fetch(with_settings=True)
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.save_error = exc.message
            return None
        self.save_done = "Saved: the next maintenance run uses these settings."
        return rx.toast.success("Maintenance settings saved")

    @rx.event
    async def run_now(self):
        try:
            await self._guarded("POST", "/maintenance/run")
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            return rx.toast.error(exc.message)
        self.running = True
        watch = self._watch()
        toast = rx.toast.success("Maintenance started")
        return [toast] if watch is None else [toast, watch]


def _stat(label: str, value: rx.Var | str, element_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=rx.color("gray", 11)),
        rx.text(value, size="4", weight="bold", id=element_id),
        spacing="1",
        min_width="140px",
    )


def status_badge(status: rx.Var) -> rx.Component:
    return rx.badge(
        status,
        color_scheme=rx.match(
            status, ("completed", "green"), ("partial", "orange"), ("running", "blue"), "gray"
        ),
        variant="soft",
        class_name="run-status",
    )


def overview_card() -> rx.Component:
    s = MaintenanceState
    return rx.card(
        rx.vstack(
            rx.flex(
                _stat("Database size", s.database_size, "database-size"),
                _stat("Next run", s.next_run, "next-run"),
                _stat("Last run", rx.cond(s.has_last, s.last_run.started, "never"), "last-run"),
                _stat("Took", rx.cond(s.has_last, s.last_run.duration, "—"), "last-duration"),
                _stat("Removed", rx.cond(s.has_last, s.last_run.removed, "—"), "last-removed"),
                wrap="wrap",
                gap="24px",
                width="100%",
            ),
            rx.cond(
                s.has_last,
                rx.text(
                    "Last run removed: ",
                    s.last_run.detail,
                    size="2",
                    color=rx.color("gray", 11),
                    id="last-detail",
                ),
            ),
            rx.cond(
                s.running,
                rx.callout(
                    "A maintenance run is going on: every service prunes its own tables, then"
                    " the busy tables are vacuumed.",
                    icon="loader",
                    id="run-going",
                    width="100%",
                ),
            ),
            rx.text(
                "Times in ",
                s.timezone,
                ". Each service removes rows past the retention below, then VACUUM (ANALYZE)"
                " runs on the busy tables.",
                size="1",
                color=rx.color("gray", 11),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def retention_row(r: RetentionRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(r.label, as_="label", html_for="ret-" + r.key)),
        rx.table.cell(
            rx.hstack(
                rx.input(
                    value=r.value,
                    on_change=lambda v: MaintenanceState.set_value(r.key, v),
                    id="ret-" + r.key,
                    input_mode="numeric",
                    width="90px",
                ),
                rx.text("days", size="2"),
                align="center",
            )
        ),
        rx.table.cell(rx.text(r.help, size="1", color=rx.color("gray", 11))),
        align="center",
    )


def settings_card() -> rx.Component:
    s = MaintenanceState
    return rx.card(
        rx.vstack(
            rx.heading("Schedule and retention", size="4"),
            rx.hstack(
                rx.switch(checked=s.enabled, on_change=s.set_enabled, id="maintenance-enabled"),
                rx.text("Run maintenance on a schedule", size="2"),
                align="center",
            ),
            rx.vstack(
                rx.text(
                    "When (cron, in the general time zone)",
                    size="2",
                    as_="label",
                    html_for="maintenance-cron",
                ),
                rx.input(value=s.cron, on_change=s.set_cron, id="maintenance-cron", width="200px"),
                rx.text("0 4 * * 0 = Sundays at 04:00", size="1", color=rx.color("gray", 11)),
                spacing="1",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Keep"),
                        rx.table.column_header_cell("For"),
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(s.retention, retention_row)),
                width="100%",
                id="retention",
            ),
            rx.cond(
                s.save_error != "",
                rx.callout(s.save_error, color_scheme="red", id="save-error", width="100%"),
            ),
            rx.cond(
                s.save_done != "",
                rx.callout(s.save_done, color_scheme="green", id="save-done", width="100%"),
            ),
            rx.button("Save", on_click=s.save, id="save-maintenance"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def run_row(r: RunRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r.started),
        rx.table.cell(r.trigger, display=["none", "table-cell"]),
        rx.table.cell(status_badge(r.status)),
        rx.table.cell(r.duration),
        rx.table.cell(
            rx.vstack(
                rx.text(r.removed, size="2"),
                rx.text(r.detail, size="1", color=rx.color("gray", 11)),
                rx.cond(r.error != "", rx.text(r.error, size="1", color=rx.color("red", 11))),
                spacing="0",
            )
        ),
        class_name="run-row",
    )


def runs_card() -> rx.Component:
    s = MaintenanceState
    return rx.card(
        rx.vstack(
            rx.heading("Runs", size="4"),
            rx.cond(
                s.runs.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Started"),
                            rx.table.column_header_cell("How", display=["none", "table-cell"]),
                            rx.table.column_header_cell("Status"),
                            rx.table.column_header_cell("Took"),
                            rx.table.column_header_cell("Removed"),
                        )
                    ),
                    rx.table.body(rx.foreach(s.runs, run_row)),
                    width="100%",
                    id="runs",
                ),
                empty("No maintenance run yet.", "wrench"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def table_row(t: TableRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(t.name)),
        rx.table.cell(t.size),
        rx.table.cell(t.rows, display=["none", "table-cell"]),
        class_name="table-size-row",
    )


def tables_card() -> rx.Component:
    s = MaintenanceState
    return rx.card(
        rx.vstack(
            rx.heading("Largest tables", size="4"),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Table"),
                        rx.table.column_header_cell("Size"),
                        rx.table.column_header_cell(
                            "Rows (estimate)", display=["none", "table-cell"]
                        ),
                    )
                ),
                rx.table.body(rx.foreach(s.tables, table_row)),
                width="100%",
                id="table-sizes",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def maintenance() -> rx.Component:
    s = MaintenanceState
    return page(
        "Maintenance",
        rx.cond(s.note != "", rx.callout(s.note, color_scheme="red", width="100%")),
        overview_card(),
        settings_card(),
        runs_card(),
        tables_card(),
        config_card(),
        key_card(),
        actions=rx.button(
            rx.icon("play", size=16),
            "Run now",
            on_click=s.run_now,
            disabled=s.running,
            id="run-now",
        ),
    )
