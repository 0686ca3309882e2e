"""Sweep schedules: list with enable toggle and run-now, editor with a cron builder (presets
and the five fields beside the raw expression, the gateway's reading and next runs), a
48-hour timeline showing overlapping sweeps, and the throttle profiles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import reflex as rx

from . import api
from .content import Opt, select
from .cron import PRESETS, describe_cron, fire_times
from .layout import empty, page
from .state import AuthState, Choice, fmt_time, profile_choices

HOURS = 48
OVERLAP_MINUTES = 30
SWEEP_TYPES = {"both": "Gaps and upgrades", "gaps": "Gaps only", "upgrades": "Upgrades only"}
FIELD_NAMES = ["Minute", "Hour", "Day", "Month", "Weekday"]
TIMEZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
]


@dataclass
class ScheduleRow:
    id: int = 0
    name: str = ""
    conn: str = ""
    cron: str = ""
    words: str = ""
    next_run: str = ""
    sweep: str = ""
    tz: str = ""
    profile: str = ""
    enabled: bool = True


@dataclass
class Mark:
    left: str = "0%"
    color: str = "accent"
    title: str = ""


@dataclass
class Lane:
    label: str = ""
    marks: list[Mark] | None = None


@dataclass
class ProfileRow:
    id: int = 0
    name: str = ""
    rate: str = ""
    budget: str = ""
    cooldown: str = ""
    concurrency: str = ""
    preset: bool = False


@dataclass
class PField:
    key: str = ""
    label: str = ""
    value: str = ""
    hint: str = ""


PROFILE_FIELDS = [
    ("name", "Name", ""),
    ("requests_per_minute", "Commands per minute", "0-600"),
    ("batch_size", "Items per command", "1-10"),
    ("daily_budget", "Budget (commands per period)", "1-1,000,000"),
    ("budget_period_hours", "Budget period (hours)", "1, 2, 3, 4, 6, 8, 12 or 24"),
    ("budget_reset_time", "Budget resets at", "HH:MM, local"),
    ("timezone", "Time zone", "IANA name"),
    ("cooldown_base_seconds", "Cooldown after a search (s)", "grows by the factor"),
    ("cooldown_factor", "Cooldown factor", "1-10"),
    ("cooldown_max_seconds", "Longest cooldown (s)", ""),
    ("max_attempts", "Attempts before exhausted", "1-1000"),
    ("max_concurrent_per_connector", "Concurrent per connector", "1-50"),
    ("max_concurrent_per_series", "Concurrent per series", "1-50"),
    ("rate_limit_cooldown_seconds", "Pause after HTTP 429 (s)", ""),
]
_TEXT_FIELDS = {"name", "budget_reset_time", "timezone"}
_INT_FIELDS = {
    "batch_size",
    "daily_budget",
    "budget_period_hours",
    "max_attempts",
    "max_concurrent_per_connector",
    "max_concurrent_per_series",
}


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds < 172800 else f"{seconds / 86400:g} d"


class SchedulesState(AuthState):
    schedules: list[ScheduleRow] = []
    lanes: list[Lane] = []
    overlaps: list[str] = []
    ticks: list[Opt] = []
    profiles: list[ProfileRow] = []
    connector_opts: list[Opt] = []
    # The default throttle profile (its id) and the choices to make another one default.
    default_profile: str = ""
    default_opts: list[Choice] = []
    # Each connector's throttle profile in words (the schedule editor shows it).
    conn_profiles: dict[str, str] = {}
    note: str = ""
    available: bool = True
    # editor
    editing: bool = False
    edit_id: int = 0
    f_name: str = ""
    f_connector: str = ""
    f_sweep: str = "both"
    preset: str = "daily"
    cron: str = PRESETS["daily"][1]
    timezone: str = "UTC"
    preview_words: str = ""
    preview_runs: list[str] = []
    preview_error: str = ""
    msg: str = ""
    # throttle profile editor
    p_editing: bool = False
    p_id: int = 0
    p_fields: list[PField] = []
    p_msg: str = ""
    _raw_profiles: dict[int, dict[str, Any]] = {}

    @rx.var
    def cron_fields(self) -> list[str]:
        parts = self.cron.split()
        return parts if len(parts) == 5 else ["*"] * 5

    @rx.var
    def f_profile_text(self) -> str:
        """The throttle profile the edited schedule's sweeps search under."""
        return self.conn_profiles.get(self.f_connector, "")

    @rx.var
    def cron_text(self) -> str:
        return self.preview_words or describe_cron(self.cron)

    async def _fetch(self) -> None:
        try:
            conns = api.items_of(await self._guarded("GET", "/connectors"))
        except api.NotAvailable:
            conns = []
        names = {int(c.get("id", 0)): str(c.get("name", "")) for c in conns}
        self.connector_opts = [Opt(value=str(k), label=v) for k, v in names.items()]
        try:
            profiles = api.items_of(await self._guarded("GET", "/throttle-profiles"))
        except api.NotAvailable:
            profiles = []
        pnames = {int(p.get("id", 0)): str(p.get("name", "")) for p in profiles}
        self._raw_profiles = {int(p.get("id", 0)): p for p in profiles}
        self.default_opts = profile_choices(profiles)[1:]
        self.default_profile = next((str(p.get("id")) for p in profiles if p.get("is_default")), "")
        default_name = pnames.get(int(self.default_profile or 0), "")
        self.conn_profiles = {
            str(c.get("id")): pnames[int(c["throttle_profile_id"])]
            if c.get("throttle_profile_id") and int(c["throttle_profile_id"]) in pnames
            else f"{default_name} (the default profile)"
            for c in conns
        }
        self.profiles = [
            ProfileRow(
                id=int(p.get("id", 0)),
                name=str(p.get("name", "")) + (" (default)" if p.get("is_default") else ""),
                rate=f"{p.get('requests_per_minute', 0):g}/min, batch {p.get('batch_size', 0)}",
                budget=f"{p.get('daily_budget', 0)} per {p.get('budget_period_hours', 24)} h",
                cooldown=_hours(float(p.get("cooldown_base_seconds") or 0))
                + f" x{p.get('cooldown_factor', 1):g}, max "
                + _hours(float(p.get("cooldown_max_seconds") or 0)),
                concurrency=f"{p.get('max_concurrent_per_connector', 1)} per connector",
                preset=bool(p.get("is_preset")),
            )
            for p in profiles
        ]
        try:
            body = await self._guarded("GET", "/schedules")
        except api.NotAvailable:
            self.available = False
            self.schedules, self.lanes = [], []
            self.note = "Schedules are not available yet: the gateway does not offer them."
            return
        self.available = True
        items = api.items_of(body)
        self.schedules = [
            ScheduleRow(
                id=int(s.get("id", 0)),
                name=str(s.get("name") or f"Schedule {s.get('id')}"),
                conn=names.get(int(s.get("connector_id") or 0), f"#{s.get('connector_id')}"),
                cron=str(s.get("cron", "")),
                words=str(s.get("description", "")),
                next_run=fmt_time((s.get("next_runs") or [None])[0]) if s.get("enabled") else "—",
                sweep=SWEEP_TYPES.get(str(s.get("sweep_type")), str(s.get("sweep_type"))),
                tz=str(s.get("timezone", "")),
                profile=self.conn_profiles.get(str(s.get("connector_id")), ""),
                enabled=bool(s.get("enabled")),
            )
            for s in items
        ]
        self._timeline(items, names)
        self.note = "" if self.schedules else "No schedules yet: build one above."

    def _timeline(self, items: list[dict[str, Any]], names: dict[int, str]) -> None:
        now = datetime.now(UTC)
        span = HOURS * 3600
        per: dict[int, list[datetime]] = {}
        info: dict[int, tuple[int, str]] = {}
        for s in items:
            sid = int(s["id"])
            info[sid] = (int(s.get("connector_id") or 0), str(s.get("name") or f"#{sid}"))
            if s.get("enabled"):
                tz = str(s.get("timezone") or "UTC")
                per[sid] = fire_times(str(s.get("cron", "")), tz, now, HOURS)
        by_time = sorted((t, sid) for sid, ts in per.items() for t in ts)
        clash: set[tuple[int, datetime]] = set()
        # Each pair of schedules once: its first clash and how often it clashes.
        pairs: dict[tuple[int, int], list[datetime]] = {}
        window = timedelta(minutes=OVERLAP_MINUTES)
        for i, (t, sid) in enumerate(by_time):
            for t2, sid2 in by_time[i + 1 :]:
                if t2 - t >= window:
                    break
                if sid2 == sid:
                    continue
                clash.update({(sid, t), (sid2, t2)})
                pairs.setdefault((min(sid, sid2), max(sid, sid2)), []).append(t)
        overlaps: list[str] = []
        for (a, b), times in sorted(pairs.items(), key=lambda kv: kv[1][0]):
            same = " (same connector)" if info[a][0] == info[b][0] else ""
            more = f", {len(times)} times in {HOURS} h" if len(times) > 1 else ""
            overlaps.append(
                f"{info[a][1]} and {info[b][1]} start within {OVERLAP_MINUTES} min{same}:"
                f" first {times[0].strftime('%a %H:%M')} UTC{more}"
            )
        lanes = []
        for s in items:
            sid = int(s["id"])
            marks = [
                Mark(
                    left=f"{(t - now).total_seconds() / span * 100:.2f}%",
                    color="red" if (sid, t) in clash else "accent",
                    title=t.strftime("%a %H:%M UTC"),
                )
                for t in per.get(sid, [])[:200]
            ]
            label = str(s.get("name") or f"#{sid}")
            conn = names.get(int(s.get("connector_id") or 0), "")
            lanes.append(Lane(label=f"{label} · {conn}" if conn else label, marks=marks))
        self.lanes = lanes
        self.overlaps = overlaps[:10]
        start = now.replace(minute=0, second=0, microsecond=0)
        self.ticks = [
            Opt(
                value=f"{((start + timedelta(hours=h)) - now).total_seconds() / span * 100:.2f}%",
                label=(start + timedelta(hours=h)).strftime("%a %H:00"),
            )
            for h in range(6, HOURS, 6)
        ]

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self.msg = ""
        try:
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.note = exc.message
        if not self.editing:
            self._reset_form()
        return None

    def _reset_form(self) -> None:
        self.edit_id = 0
        self.f_name = ""
        self.f_connector = self.connector_opts[0].value if self.connector_opts else ""
        self.f_sweep = "both"
        self.preset = "daily"
        self.cron = PRESETS["daily"][1]
        self.timezone = "UTC"
        self.preview_words, self.preview_runs, self.preview_error = "", [], ""

    async def _preview(self) -> None:
        self.preview_words = ""
        if describe_cron(self.cron).startswith("Invalid"):
            self.preview_runs, self.preview_error = [], ""
            return
        try:
            body = await self._guarded(
                "GET",
                "/schedules/preview",
                params={"cron": self.cron.strip(), "timezone": self.timezone.strip() or "UTC"},
            )
        except api.Unauthorized:
            raise
        except api.GatewayError as exc:
            self.preview_runs, self.preview_error = [], exc.message
            return
        body = body if isinstance(body, dict) else {}
        self.preview_error = ""
        self.preview_words = str(body.get("description") or "")
        self.preview_runs = [fmt_time(t) + " UTC" for t in (body.get("next_runs") or [])[:5]]

    async def _changed(self):
        try:
            await self._preview()
        except api.Unauthorized:
            return self._login_redirect()
        return None

    @rx.event
    def new(self) -> None:
        self._reset_form()
        self.editing = True
        self.msg = ""
        return SchedulesState.refresh_preview

    @rx.event
    async def refresh_preview(self):
        return await self._changed()

    @rx.event
    async def edit(self, schedule_id: int):
        try:
            s = await self._guarded("GET", f"/schedules/{schedule_id}")
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            return rx.toast.error(exc.message)
        s = s if isinstance(s, dict) else {}
        self.edit_id = schedule_id
        self.f_name = str(s.get("name") or "")
        self.f_connector = str(s.get("connector_id") or "")
        self.f_sweep = str(s.get("sweep_type") or "both")
        self.cron = str(s.get("cron") or "")
        self.preset = next((k for k, (_, e) in PRESETS.items() if e == self.cron), "custom")
        self.timezone = str(s.get("timezone") or "UTC")
        self.editing = True
        self.msg = ""
        return await self._changed()

    @rx.event
    def cancel(self) -> None:
        self.editing = False
        self.msg = ""

    @rx.event
    def set_f_name(self, v: str) -> None:
        self.f_name = v

    @rx.event
    def set_f_connector(self, v: str) -> None:
        self.f_connector = v

    @rx.event
    def set_f_sweep(self, v: str) -> None:
        self.f_sweep = v

    @rx.event
    async def set_preset(self, key: str):
        self.preset = key
        if key in PRESETS and PRESETS[key][1]:
            self.cron = PRESETS[key][1]
        return await self._changed()

    @rx.event
    async def set_cron(self, v: str):
        self.cron = v
        self.preset = next((k for k, (_, e) in PRESETS.items() if e == v.strip()), "custom")
        return await self._changed()

    @rx.event
    async def set_cron_field(self, index: int, v: str):
        parts = self.cron.split()
        if len(parts) != 5:
            parts = ["*"] * 5
        parts[index] = v.strip() or "*"
        return await self.set_cron(" ".join(parts))

    @rx.event
    async def set_timezone(self, v: str):
        self.timezone = v
        return await self._changed()

    @rx.event
    async def save(self):
        if describe_cron(self.cron).startswith("Invalid"):
            self.msg = "Fix the cron expression first."
            return None
        if not self.f_connector.isdigit():
            self.msg = "Choose a connector (add one first)."
            return None
        payload: dict[str, Any] = {
            "name": self.f_name.strip(),
            "connector_id": int(self.f_connector),
            "sweep_type": self.f_sweep,
            "cron": self.cron.strip(),
            "timezone": self.timezone.strip() or "UTC",
        }
        try:
            if self.edit_id:
                await self._guarded("PATCH", f"/schedules/{self.edit_id}", json=payload)
            else:
                await self._guarded("POST", "/schedules", json=payload)
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.msg = f"Not saved: {exc.message}"
            return None
        self.editing = False
        self.msg = ""
        await self._fetch()
        return rx.toast.success("Schedule saved")

    async def _act(self, method: str, path: str, done: str, **kw: Any):
        try:
            await self._guarded(method, path, **kw)
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            return rx.toast.error(exc.message)
        return rx.toast.success(done)

    @rx.event
    async def toggle(self, schedule_id: int, on: bool):
        return await self._act(
            "PATCH",
            f"/schedules/{schedule_id}",
            "Enabled" if on else "Disabled",
            json={"enabled": on},
        )

    @rx.event
    async def run_now(self, schedule_id: int):
        return await self._act(
            "POST",
            f"/schedules/{schedule_id}/run-now",
            "Sweep started: it shows in the run history",
        )

    @rx.event
    async def delete(self, schedule_id: int):
        return await self._act("DELETE", f"/schedules/{schedule_id}", "Schedule deleted")

    @rx.event
    async def set_default_profile(self, v: str):
        """Make a profile the default for connectors without their own."""
        if not v.isdigit():
            return None
        try:
            await self._guarded("PUT", "/throttle-profiles/default", json={"profile_id": int(v)})
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            return rx.toast.error(f"Default not changed: {exc.message}")
        await self._fetch()
        return rx.toast.success("Default throttle profile changed")

    @rx.event
    def edit_profile(self, profile_id: int, copy: bool = False) -> None:
        """Edit a custom profile, or start a new one from any profile's values."""
        self._fill_profile(profile_id, copy)

    def _fill_profile(self, profile_id: int, copy: bool) -> None:
        base = self._raw_profiles.get(profile_id) or {}
        self.p_id = 0 if copy else profile_id
        fields = []
        for key, label, hint in PROFILE_FIELDS:
            value = base.get(key, "")
            if key == "name" and copy:
                value = f"{value} (copy)" if value else ""
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            fields.append(PField(key=key, label=label, value=str(value), hint=hint))
        self.p_fields = fields
        self.p_editing = True
        self.p_msg = ""

    @rx.event
    def new_profile(self) -> None:
        default = next(
            (k for k, p in self._raw_profiles.items() if p.get("is_default")),
            next(iter(self._raw_profiles), 0),
        )
        self._fill_profile(default, True)
        self.p_fields = [
            PField(key=f.key, label=f.label, value="", hint=f.hint) if f.key == "name" else f
            for f in self.p_fields
        ]

    @rx.event
    def set_pfield(self, key: str, value: str) -> None:
        self.p_fields = [
            PField(key=f.key, label=f.label, value=value, hint=f.hint) if f.key == key else f
            for f in self.p_fields
        ]

    @rx.event
    def cancel_profile(self) -> None:
        self.p_editing = False

    @rx.event
    async def save_profile(self):
        body: dict[str, Any] = {}
        for f in self.p_fields:
            text = f.value.strip()
            if f.key in _TEXT_FIELDS:
                body[f.key] = text
                continue
            try:
                body[f.key] = int(text) if f.key in _INT_FIELDS else float(text)
            except ValueError:
                self.p_msg = f"{f.label}: a number, please."
                return None
        try:
            if self.p_id:
                await self._guarded("PATCH", f"/throttle-profiles/{self.p_id}", json=body)
            else:
                await self._guarded("POST", "/throttle-profiles", json=body)
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.p_msg = f"Not saved: {exc.message}"
            return None
        self.p_editing = False
        await self._fetch()
        return rx.toast.success("Throttle profile saved")

    @rx.event
    async def delete_profile(self, profile_id: int):
        return await self._act(
            "DELETE", f"/throttle-profiles/{profile_id}", "Throttle profile deleted"
        )


# ---------------------------------------------------------------- components


def _field(label: str, control: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(label, size="2", weight="medium"), control, spacing="1", width="100%")


def cron_builder() -> rx.Component:
    s = SchedulesState
    return rx.vstack(
        rx.grid(
            _field(
                "Preset",
                select(
                    s.preset,
                    s.set_preset,
                    {k: label for k, (label, _) in PRESETS.items()},
                    "cron-preset",
                ),
            ),
            _field(
                "Cron expression",
                rx.input(
                    value=s.cron,
                    on_change=s.set_cron,
                    debounce_timeout=400,
                    font_family="monospace",
                    id="cron",
                    width="100%",
                ),
            ),
            grid_template_columns=["1fr", "1fr 2fr"],
            gap="12px",
            width="100%",
        ),
        rx.grid(
            *[
                rx.vstack(
                    rx.text(name, size="1", color=rx.color("gray", 10)),
                    rx.input(
                        value=s.cron_fields[i],
                        on_change=lambda v, i=i: s.set_cron_field(i, v),
                        debounce_timeout=400,
                        font_family="monospace",
                        id=f"cron-field-{i}",
                        width="100%",
                        size="1",
                    ),
                    spacing="1",
                    min_width="0",
                )
                for i, name in enumerate(FIELD_NAMES)
            ],
            grid_template_columns="repeat(5, minmax(0, 1fr))",
            gap="6px",
            width="100%",
        ),
        rx.callout(
            rx.vstack(
                rx.text(s.cron_text, weight="medium", id="cron-words"),
                rx.cond(
                    s.preview_runs.length() > 0,
                    rx.text(
                        "Next: " + s.preview_runs.join(", "),
                        size="1",
                        id="cron-next",
                    ),
                ),
                rx.cond(s.preview_error != "", rx.text(s.preview_error, size="1", color="red")),
                spacing="1",
            ),
            icon="calendar-clock",
            color_scheme=rx.cond(s.cron_text.startswith("Invalid"), "red", "blue"),
            width="100%",
            size="1",
        ),
        spacing="3",
        width="100%",
    )


def editor() -> rx.Component:
    s = SchedulesState
    return rx.card(
        rx.vstack(
            rx.heading(rx.cond(s.edit_id > 0, "Edit schedule", "New schedule"), size="4"),
            rx.grid(
                _field(
                    "Name",
                    rx.input(
                        value=s.f_name,
                        on_change=s.set_f_name,
                        placeholder="Nightly sweep",
                        id="sched-name",
                        width="100%",
                    ),
                ),
                _field(
                    "Connector",
                    rx.select.root(
                        rx.select.trigger(id="sched-connector", width="100%"),
                        rx.select.content(
                            rx.foreach(
                                s.connector_opts, lambda o: rx.select.item(o.label, value=o.value)
                            )
                        ),
                        value=s.f_connector,
                        on_change=s.set_f_connector,
                    ),
                ),
                _field("Sweep", select(s.f_sweep, s.set_f_sweep, SWEEP_TYPES, "sched-sweep")),
                _field(
                    "Time zone",
                    rx.box(
                        rx.input(
                            value=s.timezone,
                            on_change=s.set_timezone,
                            debounce_timeout=500,
                            list="tz-list",
                            id="sched-tz",
                            width="100%",
                        ),
                        rx.el.datalist(*[rx.el.option(value=z) for z in TIMEZONES], id="tz-list"),
                        width="100%",
                    ),
                ),
                _field(
                    "Throttle profile",
                    rx.vstack(
                        rx.text(s.f_profile_text, size="2", id="sched-profile"),
                        rx.link(
                            "Set on the connector",
                            href="/connectors/new?id=" + s.f_connector,
                            size="1",
                        ),
                        spacing="1",
                    ),
                ),
                grid_template_columns=["1fr", "1fr 1fr", "1fr 1fr 1fr"],
                gap="12px",
                width="100%",
            ),
            cron_builder(),
            rx.flex(
                rx.button("Save schedule", on_click=s.save, id="save-schedule"),
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=s.cancel),
                rx.text(s.msg, size="2", color=rx.color("red", 11)),
                gap="8px",
                align="center",
                wrap="wrap",
            ),
            spacing="4",
            width="100%",
        ),
        width="100%",
        id="schedule-editor",
    )


def schedule_row(r: ScheduleRow) -> rx.Component:
    s = SchedulesState
    return rx.table.row(
        rx.table.cell(
            rx.switch(
                checked=r.enabled,
                on_change=lambda on: s.toggle(r.id, on),
                aria_label="Enabled",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(r.name, weight="medium", size="2"),
                rx.text(r.conn + " · " + r.sweep, size="1", color=rx.color("gray", 10)),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.code(r.cron, size="1"),
                rx.text(r.words, size="1", color=rx.color("gray", 11)),
                spacing="1",
            ),
            display=["none", "table-cell"],
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(r.next_run, size="2"),
                rx.text(r.tz + " · " + r.profile, size="1", color=rx.color("gray", 10)),
                spacing="0",
            ),
            display=["none", "none", "table-cell"],
        ),
        rx.table.cell(
            rx.flex(
                rx.tooltip(
                    rx.icon_button(
                        rx.icon("play", size=16),
                        variant="soft",
                        on_click=s.run_now(r.id),
                        aria_label="Run now",
                        class_name="run-now",
                    ),
                    content="Run now",
                ),
                rx.icon_button(
                    rx.icon("pencil", size=16),
                    variant="ghost",
                    on_click=s.edit(r.id),
                    aria_label="Edit",
                ),
                rx.icon_button(
                    rx.icon("trash-2", size=16),
                    variant="ghost",
                    color_scheme="red",
                    on_click=s.delete(r.id),
                    aria_label="Delete",
                ),
                gap="10px",
                align="center",
            )
        ),
        class_name="schedule-row",
    )


def timeline() -> rx.Component:
    s = SchedulesState
    lane = lambda ln: rx.grid(  # noqa: E731
        rx.text(ln.label, size="1", truncate=True, title=ln.label),
        rx.box(
            rx.foreach(
                ln.marks,
                lambda m: rx.box(
                    position="absolute",
                    left=m.left,
                    top="3px",
                    width="6px",
                    height="16px",
                    margin_left="-3px",
                    border_radius="3px",
                    background=rx.color(m.color, 9),
                    title=m.title,
                ),
            ),
            position="relative",
            height="22px",
            border_radius="6px",
            background=rx.color("gray", 3),
            overflow="hidden",
        ),
        grid_template_columns=["90px 1fr", "160px 1fr"],
        gap="8px",
        align_items="center",
        width="100%",
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Next 48 hours", size="3"),
                rx.spacer(),
                rx.text(
                    "red: starts within 30 min of another", size="1", color=rx.color("gray", 10)
                ),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.foreach(s.lanes, lane),
            rx.grid(
                rx.box(),
                rx.box(
                    rx.foreach(
                        s.ticks,
                        lambda t: rx.text(
                            t.label,
                            size="1",
                            color=rx.color("gray", 10),
                            position="absolute",
                            left=t.value,
                            transform="translateX(-50%)",
                            white_space="nowrap",
                            display=["none", "block"],
                        ),
                    ),
                    position="relative",
                    height="18px",
                ),
                grid_template_columns=["90px 1fr", "160px 1fr"],
                gap="8px",
                width="100%",
            ),
            rx.cond(
                s.overlaps.length() > 0,
                rx.vstack(
                    rx.foreach(
                        s.overlaps,
                        lambda o: rx.hstack(
                            rx.icon("triangle-alert", size=14, color=rx.color("red", 9)),
                            rx.text(o, size="1"),
                            align="center",
                        ),
                    ),
                    spacing="1",
                    id="overlaps",
                ),
                rx.text("No overlapping sweeps.", size="1", color=rx.color("gray", 10)),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="timeline",
    )


def profile_editor() -> rx.Component:
    s = SchedulesState
    return rx.card(
        rx.vstack(
            rx.heading(
                rx.cond(s.p_id > 0, "Edit throttle profile", "New throttle profile"), size="3"
            ),
            rx.grid(
                rx.foreach(
                    s.p_fields,
                    lambda f: rx.vstack(
                        rx.text(f.label, size="2", weight="medium"),
                        rx.input(
                            value=f.value,
                            on_change=lambda v: s.set_pfield(f.key, v),
                            id="profile-" + f.key,
                            width="100%",
                        ),
                        rx.cond(
                            f.hint != "", rx.text(f.hint, size="1", color=rx.color("gray", 10))
                        ),
                        spacing="1",
                        width="100%",
                    ),
                ),
                grid_template_columns=["1fr", "1fr 1fr", "repeat(3, 1fr)"],
                gap="12px",
                width="100%",
            ),
            rx.flex(
                rx.button("Save profile", on_click=s.save_profile, id="save-profile"),
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=s.cancel_profile),
                rx.text(s.p_msg, size="2", color=rx.color("red", 11)),
                gap="8px",
                align="center",
                wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="profile-editor",
    )


def profile_card(p: ProfileRow) -> rx.Component:
    s = SchedulesState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(p.name, weight="bold"),
                rx.cond(p.preset, rx.badge("preset", variant="soft")),
                rx.spacer(),
                rx.cond(
                    p.preset,
                    rx.fragment(),
                    rx.hstack(
                        rx.icon_button(
                            rx.icon("pencil", size=14),
                            size="1",
                            variant="ghost",
                            on_click=s.edit_profile(p.id, False),
                            aria_label="Edit profile",
                        ),
                        rx.icon_button(
                            rx.icon("trash-2", size=14),
                            size="1",
                            variant="ghost",
                            color_scheme="red",
                            on_click=s.delete_profile(p.id),
                            aria_label="Delete profile",
                        ),
                        spacing="1",
                    ),
                ),
                rx.icon_button(
                    rx.icon("copy", size=14),
                    size="1",
                    variant="ghost",
                    on_click=s.edit_profile(p.id, True),
                    aria_label="Duplicate profile",
                ),
                align="center",
                width="100%",
            ),
            rx.text(p.rate, size="1"),
            rx.text("Budget " + p.budget, size="1"),
            rx.text("Cooldown " + p.cooldown, size="1"),
            rx.text(p.concurrency, size="1", color=rx.color("gray", 10)),
            spacing="1",
            width="100%",
        ),
        class_name="profile-card",
    )


def profiles() -> rx.Component:
    s = SchedulesState
    return rx.vstack(
        rx.hstack(
            rx.heading("Throttle profiles", size="4"),
            rx.spacer(),
            rx.button(
                rx.icon("plus", size=14),
                "New profile",
                size="1",
                variant="soft",
                on_click=s.new_profile,
                id="new-profile",
            ),
            width="100%",
            align="center",
        ),
        rx.flex(
            rx.text("Default profile", size="2", weight="medium"),
            rx.select.root(
                rx.select.trigger(id="default-profile", min_width="200px"),
                rx.select.content(
                    rx.foreach(s.default_opts, lambda o: rx.select.item(o.label, value=o.value))
                ),
                value=s.default_profile,
                on_change=s.set_default_profile,
            ),
            rx.text(
                "Connectors without a profile of their own search under it.",
                size="1",
                color=rx.color("gray", 10),
            ),
            gap="8px",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        rx.cond(s.p_editing, profile_editor()),
        rx.grid(
            rx.foreach(s.profiles, profile_card),
            grid_template_columns=["1fr", "1fr 1fr", "repeat(3, 1fr)"],
            gap="12px",
            width="100%",
        ),
        width="100%",
        spacing="3",
    )


def schedules() -> rx.Component:
    s = SchedulesState
    return page(
        "Schedules",
        rx.cond(s.editing, editor()),
        rx.cond(
            s.schedules.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("On"),
                            rx.table.column_header_cell("Schedule"),
                            rx.table.column_header_cell("When", display=["none", "table-cell"]),
                            rx.table.column_header_cell(
                                "Next run", display=["none", "none", "table-cell"]
                            ),
                            rx.table.column_header_cell(""),
                        )
                    ),
                    rx.table.body(rx.foreach(s.schedules, schedule_row)),
                    width="100%",
                    size="1",
                    variant="surface",
                    id="schedule-table",
                ),
                width="100%",
                overflow_x="auto",
            ),
            empty(s.note, "calendar-clock"),
        ),
        rx.cond(s.schedules.length() > 0, timeline()),
        profiles(),
        actions=rx.button(
            rx.icon("plus", size=16),
            "New schedule",
            on_click=s.new,
            disabled=~s.available,
            id="new-schedule",
        ),
    )
