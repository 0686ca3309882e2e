"""Settings → Notifications: channels (typed forms for each kind or any Apprise URL), the
events each takes, digest window, quiet hours, "Send test", and the delivery log. Also the
connector page's webhook card: the URL and fields to paste into the *arr app."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from . import api
from .layout import empty, page, status_badge
from .state import AuthState, fmt_time

STATUS_COLORS = {
    "ok": "green",
    "failing": "red",
    "test failed": "red",
    "untested": "gray",
    "disabled": "gray",
}
DELIVERY_COLORS = {
    "sent": "green",
    "pending": "blue",
    "held": "amber",
    "failed": "red",
    "dropped": "gray",
}
QUIET_NOTE = (
    "Nothing is sent during quiet hours. Events that arrive then are held, not dropped: "
    "when quiet hours end they go out together as one summary message."
)
DIGEST_NOTE = (
    "Events of one kind within this many minutes go out as one message (0 sends each at "
    "once). Connector health and authentication events are always sent at once."
)


@dataclass
class ChannelRow:
    id: int = 0
    name: str = ""
    kind: str = ""
    target: str = ""
    events: str = ""
    timing: str = ""
    enabled: bool = True
    status: str = ""
    color: str = "gray"
    problem: str = ""


@dataclass
class FieldRow:
    name: str = ""
    label: str = ""
    secret: bool = False
    required: bool = True
    placeholder: str = ""
    help: str = ""
    choices: list[str] = field(default_factory=list)
    value: str = ""


@dataclass
class EventRow:
    key: str = ""
    label: str = ""
    immediate: bool = False
    checked: bool = False


@dataclass
class DeliveryRow:
    id: int = 0
    when: str = ""
    channel: str = ""
    kind: str = ""
    title: str = ""
    status: str = ""
    color: str = "gray"
    detail: str = ""


def _timing(c: dict[str, Any]) -> str:
    parts = []
    digest = int(c.get("digest_minutes") or 0)
    parts.append(f"digest {digest} min" if digest else "each at once")
    quiet = c.get("quiet_hours")
    if isinstance(quiet, dict):
        parts.append(
            f"quiet {str(quiet.get('start', ''))[:5]} to {str(quiet.get('end', ''))[:5]}"
            f" {quiet.get('timezone', '')}"
        )
    return ", ".join(parts)


class NotificationsState(AuthState):
    channels: list[ChannelRow] = []
    channels_note: str = ""
    deliveries: list[DeliveryRow] = []
    deliveries_note: str = ""
    kinds: list[str] = []
    kind_labels: dict[str, str] = {}
    events: list[EventRow] = []
    error: str = ""
    message: str = ""
    test_result: str = ""
    test_ok: bool = False
    confirm_delete: int = 0
    # The add/edit form.
    form_open: bool = False
    editing: int = 0
    f_name: str = ""
    f_kind: str = "webhook"
    f_fields: list[FieldRow] = []
    f_all_events: bool = True
    f_digest: str = "0"
    f_quiet: bool = False
    f_quiet_start: str = "22:00"
    f_quiet_end: str = "07:00"
    f_quiet_tz: str = "UTC"
    f_enabled: bool = True
    f_error: str = ""
    _kind_fields: dict[str, list[dict[str, Any]]] = {}
    _event_labels: dict[str, str] = {}

    # --- loading ---------------------------------------------------------------------

    async def _fetch(self) -> None:
        kinds = await self._guarded("GET", "/notifications/kinds")
        kinds = kinds if isinstance(kinds, dict) else {}
        self._kind_fields = {
            str(k["kind"]): list(k.get("fields") or []) for k in kinds.get("channel_kinds", [])
        }
        self.kinds = list(self._kind_fields)
        self.kind_labels = {
            str(k["kind"]): str(k.get("label") or k["kind"]) for k in kinds.get("channel_kinds", [])
        }
        self._event_labels = {
            str(e["key"]): str(e.get("label") or e["key"]) for e in kinds.get("event_kinds", [])
        }
        self.events = [
            EventRow(
                key=str(e["key"]), label=str(e.get("label")), immediate=bool(e.get("immediate"))
            )
            for e in kinds.get("event_kinds", [])
        ]
        await self._fetch_channels()
        await self._fetch_deliveries()

    async def _fetch_channels(self) -> None:
        body = await self._guarded("GET", "/notifications/channels")
        rows = []
        for c in api.items_of(body):
            enabled = bool(c.get("enabled"))
            status = str(c.get("status") or "untested").replace("_", " ") if enabled else "disabled"
            events = c.get("events") or []
            rows.append(
                ChannelRow(
                    id=int(c.get("id") or 0),
                    name=str(c.get("name") or ""),
                    kind=self.kind_labels.get(str(c.get("kind")), str(c.get("kind"))),
                    target=str(c.get("url_masked") or ""),
                    events=(
                        ", ".join(self._event_labels.get(e, e) for e in events)
                        if events
                        else "every event"
                    ),
                    timing=_timing(c),
                    enabled=enabled,
                    status=status,
                    color=STATUS_COLORS.get(status, "gray"),
                    problem=(
                        f"{c.get('consecutive_failures')} failed sends in a row: "
                        f"{c.get('last_error') or ''}"
                        if status == "failing"
                        else f"The last test failed: {c.get('last_test_detail') or ''}"
                        if status == "test failed"
                        else ""
                    ),
                )
            )
        self.channels = rows
        self.channels_note = (
            ""
            if rows
            else "No channels yet. Add one to be told about searches found, connector "
            "problems and more."
        )

    async def _fetch_deliveries(self) -> None:
        body = await self._guarded("GET", "/notifications/deliveries", params={"limit": 50})
        rows = []
        for d in api.items_of(body):
            status = str(d.get("status") or "")
            detail = str(d.get("error") or "")
            if status == "sent" and int(d.get("batch_size") or 1) > 1:
                detail = f"in one message with {int(d['batch_size']) - 1} more"
            elif status in ("pending", "held"):
                detail = f"due {fmt_time(d.get('due_at'))}" + (f" · {detail}" if detail else "")
            rows.append(
                DeliveryRow(
                    id=int(d.get("id") or 0),
                    when=fmt_time(d.get("sent_at") or d.get("created_at")),
                    channel=str(d.get("channel_name") or ""),
                    kind=self._event_labels.get(str(d.get("event_kind")), str(d.get("event_kind"))),
                    title=str(d.get("title") or ""),
                    status=status,
                    color=DELIVERY_COLORS.get(status, "gray"),
                    detail=detail,
                )
            )
        self.deliveries = rows
        self.deliveries_note = "" if rows else "Nothing has been sent yet."

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self.error = self.message = self.test_result = ""
        self.form_open = False
        self.confirm_delete = 0
        return await self._then_show(self._fetch)

    async def _then_show(self, *steps: Callable[[], Awaitable[Any]]) -> Any:
        """Run gateway calls in order (the last ones refresh what is shown); an error stops
        them and shows on the page."""
        try:
            for step in steps:
                await step()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.error = exc.message
        return None

    @rx.event
    async def refresh_log(self):
        return await self._then_show(self._fetch_deliveries, self._fetch_channels)

    # --- the form --------------------------------------------------------------------

    def _fields_for(self, kind: str, values: dict[str, str]) -> list[FieldRow]:
        return [
            FieldRow(
                name=str(f["name"]),
                label=str(f.get("label") or f["name"])
                + ("" if f.get("required") else " (optional)"),
                secret=bool(f.get("secret")),
                required=bool(f.get("required")),
                placeholder=(
                    "leave empty to keep the saved value"
                    if f.get("secret") and values.get(str(f["name"]))
                    else str(f.get("placeholder") or "")
                ),
                help=str(f.get("help") or ""),
                choices=[str(c) for c in f.get("choices") or []],
                value=(
                    ""
                    if f.get("secret")
                    else values.get(str(f["name"]), str(f.get("default") or ""))
                ),
            )
            for f in self._kind_fields.get(kind, [])
        ]

    @rx.event
    def open_new(self) -> None:
        self.editing = 0
        self.f_name = ""
        self.f_kind = "webhook" if "webhook" in self._kind_fields else (self.kinds or [""])[0]
        self.f_fields = self._fields_for(self.f_kind, {})
        self.f_all_events = True
        self.events = [EventRow(e.key, e.label, e.immediate, False) for e in self.events]
        self.f_digest = "0"
        self.f_quiet = False
        self.f_quiet_start, self.f_quiet_end, self.f_quiet_tz = "22:00", "07:00", "UTC"
        self.f_enabled = True
        self.f_error = ""
        self.form_open = True

    @rx.event
    async def open_edit(self, channel_id: int):
        try:
            c = await self._guarded("GET", f"/notifications/channels/{channel_id}")
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.error = exc.message
            return None
        c = c if isinstance(c, dict) else {}
        self.editing = channel_id
        self.f_name = str(c.get("name") or "")
        self.f_kind = str(c.get("kind") or "apprise")
        stored = {str(k): str(v) for k, v in (c.get("fields") or {}).items()}
        self.f_fields = self._fields_for(self.f_kind, stored)
        chosen = set(c.get("events") or [])
        self.f_all_events = not chosen
        self.events = [EventRow(e.key, e.label, e.immediate, e.key in chosen) for e in self.events]
        self.f_digest = str(c.get("digest_minutes") or 0)
        quiet = c.get("quiet_hours")
        self.f_quiet = isinstance(quiet, dict)
        if isinstance(quiet, dict):
            self.f_quiet_start = str(quiet.get("start", ""))[:5]
            self.f_quiet_end = str(quiet.get("end", ""))[:5]
            self.f_quiet_tz = str(quiet.get("timezone") or "UTC")
        self.f_enabled = bool(c.get("enabled"))
        self.f_error = ""
        self.form_open = True
        return None

    @rx.event
    def close_form(self) -> None:
        self.form_open = False

    @rx.event
    def set_f_name(self, v: str) -> None:
        self.f_name = v

    @rx.event
    def set_f_kind(self, v: str) -> None:
        self.f_kind = v
        self.f_fields = self._fields_for(v, {})

    @rx.event
    def set_field(self, name: str, value: str) -> None:
        self.f_fields = [
            FieldRow(**{**f.__dict__, "value": value}) if f.name == name else f
            for f in self.f_fields
        ]

    @rx.event
    def set_f_all_events(self, v: bool) -> None:
        self.f_all_events = v

    @rx.event
    def set_event(self, key: str, checked: bool) -> None:
        self.events = [
            EventRow(e.key, e.label, e.immediate, checked if e.key == key else e.checked)
            for e in self.events
        ]
        if checked:
            self.f_all_events = False

    @rx.event
    def set_f_digest(self, v: str) -> None:
        self.f_digest = v

    @rx.event
    def set_f_quiet(self, v: bool) -> None:
        self.f_quiet = v

    @rx.event
    def set_f_quiet_start(self, v: str) -> None:
        self.f_quiet_start = v

    @rx.event
    def set_f_quiet_end(self, v: str) -> None:
        self.f_quiet_end = v

    @rx.event
    def set_f_quiet_tz(self, v: str) -> None:
        self.f_quiet_tz = v

    @rx.event
    def set_f_enabled(self, v: bool) -> None:
        self.f_enabled = v

    def _body(self) -> dict[str, Any] | None:
        name = self.f_name.strip()
        if not name:
            self.f_error = "Give the channel a name."
            return None
        try:
            digest = int(self.f_digest or "0")
        except ValueError:
            self.f_error = "The digest window is a number of minutes."
            return None
        events = [e.key for e in self.events if e.checked]
        if not self.f_all_events and not events:
            self.f_error = "Pick at least one event, or every event."
            return None
        body: dict[str, Any] = {
            "name": name,
            "fields": {f.name: f.value for f in self.f_fields if f.value or not f.secret},
            "events": ["all"] if self.f_all_events else events,
            "enabled": self.f_enabled,
            "digest_minutes": digest,
            "quiet_hours": (
                {"start": self.f_quiet_start, "end": self.f_quiet_end, "timezone": self.f_quiet_tz}
                if self.f_quiet
                else None
            ),
        }
        if not self.editing:
            body["kind"] = self.f_kind
        return body

    @rx.event
    async def save(self):
        body = self._body()
        if body is None:
            return None
        try:
            if self.editing:
                await self._guarded("PATCH", f"/notifications/channels/{self.editing}", json=body)
                self.message = f"Saved “{body['name']}”."
            else:
                await self._guarded("POST", "/notifications/channels", json=body)
                self.message = f"Added “{body['name']}”. Send a test to check it."
            await self._fetch_channels()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.f_error = exc.message
            return None
        self.form_open = False
        return None

    # --- channel actions --------------------------------------------------------------

    @rx.event
    async def send_test(self, channel_id: int):
        self.test_result = "Sending…"
        self.test_ok = False
        yield
        try:
            body = await self._guarded(
                "POST", f"/notifications/channels/{channel_id}/test", timeout=60.0
            )
        except api.Unauthorized:
            yield self._login_redirect()
            return
        except api.GatewayError as exc:
            self.test_result = exc.message
            return
        body = body if isinstance(body, dict) else {}
        name = next((c.name for c in self.channels if c.id == channel_id), "the channel")
        self.test_ok = bool(body.get("ok"))
        detail = str(body.get("detail") or "")
        self.test_result = (
            f"Test sent to {name}." if self.test_ok else f"The test to {name} failed: {detail}"
        )
        with contextlib.suppress(api.GatewayError):
            await self._fetch_channels()

    @rx.event
    async def toggle(self, channel_id: int, enabled: bool):
        path = f"/notifications/channels/{channel_id}"
        return await self._then_show(
            lambda: self._guarded("PATCH", path, json={"enabled": enabled}), self._fetch_channels
        )

    @rx.event
    def ask_delete(self, channel_id: int) -> None:
        self.confirm_delete = channel_id

    @rx.event
    async def delete(self, channel_id: int):
        self.confirm_delete = 0
        path = f"/notifications/channels/{channel_id}"
        return await self._then_show(lambda: self._guarded("DELETE", path), self._fetch_channels)


# --- components ---------------------------------------------------------------------------


def _callout(text: rx.Var, color: str, icon: str, id: str = "") -> rx.Component:
    return rx.cond(
        text != "",
        rx.callout(text, icon=icon, color_scheme=color, width="100%", id=id or None),
    )


def form_field(f: FieldRow) -> rx.Component:
    s = NotificationsState
    control = rx.cond(
        f.choices.length() > 0,
        rx.select(
            f.choices,
            value=f.value,
            on_change=lambda v: s.set_field(f.name, v),
            width="100%",
        ),
        rx.input(
            value=f.value,
            placeholder=f.placeholder,
            type=rx.cond(f.secret, "password", "text"),
            on_change=lambda v: s.set_field(f.name, v),
            id="channel-field-" + f.name,
            width="100%",
            auto_complete="off",
        ),
    )
    return rx.vstack(
        rx.text(f.label, size="2", weight="medium"),
        control,
        rx.cond(f.help != "", rx.text(f.help, size="1", color=rx.color("gray", 10))),
        spacing="1",
        width="100%",
    )


def event_checkbox(e: EventRow) -> rx.Component:
    s = NotificationsState
    return rx.checkbox(
        rx.cond(e.immediate, e.label + " (always at once)", e.label),
        checked=e.checked | s.f_all_events,
        disabled=s.f_all_events,
        on_change=lambda v: s.set_event(e.key, v),
        id="event-" + e.key,
    )


def channel_form() -> rx.Component:
    s = NotificationsState
    return rx.card(
        rx.vstack(
            rx.heading(rx.cond(s.editing > 0, "Edit channel", "Add a channel"), size="4"),
            rx.flex(
                rx.vstack(
                    rx.text("Name", size="2", weight="medium"),
                    rx.input(
                        value=s.f_name, on_change=s.set_f_name, id="channel-name", width="100%"
                    ),
                    spacing="1",
                    flex="1",
                    min_width="200px",
                ),
                rx.vstack(
                    rx.text("Service", size="2", weight="medium"),
                    rx.select.root(
                        rx.select.trigger(id="channel-kind"),
                        rx.select.content(
                            rx.foreach(
                                s.kinds,
                                lambda k: rx.select.item(s.kind_labels[k], value=k),
                            )
                        ),
                        value=s.f_kind,
                        on_change=s.set_f_kind,
                        disabled=s.editing > 0,
                    ),
                    spacing="1",
                ),
                gap="12px",
                wrap="wrap",
                width="100%",
            ),
            rx.foreach(s.f_fields, form_field),
            rx.divider(),
            rx.text("Events", size="2", weight="medium"),
            rx.checkbox(
                "Every event",
                checked=s.f_all_events,
                on_change=s.set_f_all_events,
                id="event-all",
            ),
            rx.grid(
                rx.foreach(s.events, event_checkbox),
                columns=rx.breakpoints(initial="1", sm="2", md="3"),
                spacing="2",
                width="100%",
            ),
            rx.divider(),
            rx.flex(
                rx.vstack(
                    rx.text("Digest window (minutes)", size="2", weight="medium"),
                    rx.input(
                        value=s.f_digest,
                        on_change=s.set_f_digest,
                        type="number",
                        min=0,
                        max=1440,
                        id="channel-digest",
                        width="120px",
                    ),
                    rx.text(DIGEST_NOTE, size="1", color=rx.color("gray", 10)),
                    spacing="1",
                    flex="1",
                    min_width="240px",
                ),
                rx.vstack(
                    rx.hstack(
                        rx.switch(checked=s.f_quiet, on_change=s.set_f_quiet, id="channel-quiet"),
                        rx.text("Quiet hours", size="2", weight="medium"),
                        align="center",
                    ),
                    rx.cond(
                        s.f_quiet,
                        rx.flex(
                            rx.input(
                                value=s.f_quiet_start,
                                on_change=s.set_f_quiet_start,
                                type="time",
                                id="quiet-start",
                            ),
                            rx.text("to", size="2"),
                            rx.input(
                                value=s.f_quiet_end,
                                on_change=s.set_f_quiet_end,
                                type="time",
                                id="quiet-end",
                            ),
                            rx.input(
                                value=s.f_quiet_tz,
                                on_change=s.set_f_quiet_tz,
                                placeholder="Europe/Berlin",
                                id="quiet-tz",
                                width="180px",
                            ),
                            gap="8px",
                            align="center",
                            wrap="wrap",
                        ),
                    ),
                    rx.text(QUIET_NOTE, size="1", color=rx.color("gray", 10)),
                    spacing="1",
                    flex="1",
                    min_width="240px",
                ),
                gap="20px",
                wrap="wrap",
                width="100%",
            ),
            rx.hstack(
                rx.switch(checked=s.f_enabled, on_change=s.set_f_enabled, id="channel-enabled"),
                rx.text("Enabled", size="2"),
                align="center",
            ),
            _callout(s.f_error, "red", "triangle-alert", "channel-form-error"),
            rx.hstack(
                rx.button(rx.icon("save"), "Save", on_click=s.save, id="channel-save"),
                rx.button("Cancel", variant="soft", on_click=s.close_form),
                spacing="3",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="channel-form",
    )


def channel_card(c: ChannelRow) -> rx.Component:
    s = NotificationsState
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.hstack(
                    rx.text(c.name, weight="bold", size="3"),
                    rx.badge(c.kind, variant="surface"),
                    status_badge(c.status, c.color),
                    align="center",
                    wrap="wrap",
                ),
                rx.text(rx.code(c.target), " · ", c.events, size="2", color=rx.color("gray", 11)),
                rx.text(c.timing, size="1", color=rx.color("gray", 10)),
                rx.cond(c.problem != "", rx.text(c.problem, size="1", color=rx.color("red", 11))),
                spacing="1",
                flex="1",
                min_width="0",
            ),
            rx.flex(
                rx.button(
                    rx.icon("send"),
                    "Send test",
                    size="2",
                    variant="soft",
                    on_click=s.send_test(c.id),
                    id="test-channel-" + c.id.to_string(),
                    class_name="send-test",
                ),
                rx.button(
                    "Edit",
                    size="2",
                    variant="soft",
                    color_scheme="gray",
                    on_click=s.open_edit(c.id),
                ),
                rx.button(
                    rx.cond(c.enabled, "Disable", "Enable"),
                    size="2",
                    variant="soft",
                    color_scheme="gray",
                    on_click=s.toggle(c.id, ~c.enabled),
                ),
                rx.cond(
                    s.confirm_delete == c.id,
                    rx.button(
                        "Confirm delete", size="2", color_scheme="red", on_click=s.delete(c.id)
                    ),
                    rx.button(
                        "Delete",
                        size="2",
                        variant="soft",
                        color_scheme="red",
                        on_click=s.ask_delete(c.id),
                    ),
                ),
                gap="8px",
                wrap="wrap",
            ),
            gap="12px",
            wrap="wrap",
            align="center",
            width="100%",
        ),
        width="100%",
        class_name="channel-card",
    )


def delivery_row(d: DeliveryRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(d.when, white_space="nowrap"),
        rx.table.cell(d.channel),
        rx.table.cell(d.kind, display=["none", "none", "table-cell"]),
        rx.table.cell(d.title),
        rx.table.cell(rx.badge(d.status, color_scheme=d.color, variant="soft")),
        rx.table.cell(d.detail, display=["none", "table-cell"], color=rx.color("gray", 11)),
        class_name="delivery-row",
    )


def notifications() -> rx.Component:
    s = NotificationsState
    return page(
        "Notifications",
        rx.text(
            "Channels send through Apprise: pick a service below, or paste any Apprise URL. "
            "Secrets are stored encrypted and shown only by their last four characters.",
            color=rx.color("gray", 11),
            size="2",
        ),
        _callout(s.error, "red", "triangle-alert"),
        _callout(s.message, "green", "check"),
        rx.cond(
            s.test_result != "",
            rx.callout(
                s.test_result,
                icon=rx.cond(s.test_ok, "check", "triangle-alert"),
                color_scheme=rx.cond(s.test_ok, "green", "red"),
                width="100%",
                id="test-result",
            ),
        ),
        rx.cond(s.form_open, channel_form()),
        rx.cond(
            s.channels.length() > 0,
            rx.vstack(rx.foreach(s.channels, channel_card), spacing="3", width="100%"),
            empty(s.channels_note, "bell"),
        ),
        rx.hstack(
            rx.heading("Delivery log", size="4"),
            rx.spacer(),
            rx.button(
                rx.icon("refresh-cw"),
                "Refresh",
                size="1",
                variant="soft",
                on_click=s.refresh_log,
                id="refresh-deliveries",
            ),
            width="100%",
            align="center",
        ),
        rx.text(
            "Every event routed to a channel and what became of it. Failed sends are retried "
            "with growing waits before they count as failed; finished entries are kept for "
            "the days set under Settings (notifications.delivery_log_retention_days).",
            size="1",
            color=rx.color("gray", 10),
        ),
        rx.cond(
            s.deliveries.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("When"),
                        rx.table.column_header_cell("Channel"),
                        rx.table.column_header_cell(
                            "Event", display=["none", "none", "table-cell"]
                        ),
                        rx.table.column_header_cell("Message"),
                        rx.table.column_header_cell("Status"),
                        rx.table.column_header_cell("Detail", display=["none", "table-cell"]),
                    )
                ),
                rx.table.body(rx.foreach(s.deliveries, delivery_row)),
                width="100%",
                variant="surface",
                id="delivery-log",
            ),
            empty(s.deliveries_note, "send"),
        ),
        actions=rx.button(rx.icon("plus"), "Add channel", on_click=s.open_new, id="add-channel"),
    )


# --- the connector page's webhook card -------------------------------------------------------


class WebhookState(AuthState):
    wh_enabled: bool = False
    wh_url: str = ""
    wh_username: str = ""
    wh_password: str = ""
    wh_masked: str = ""
    wh_signature: str = ""
    wh_triggers: str = ""
    wh_last: str = ""
    wh_error: str = ""
    _connector: str = ""

    def _apply(self, body: Any) -> None:
        body = body if isinstance(body, dict) else {}
        self.wh_enabled = bool(body.get("enabled"))
        self.wh_url = str(body.get("url") or "")
        self.wh_username = str(body.get("username") or "")
        self.wh_masked = str(body.get("password_masked") or "")
        self.wh_signature = str(body.get("signature_header") or "")
        self.wh_triggers = ", ".join(str(t) for t in body.get("triggers") or [])
        last = body.get("last_received_at")
        self.wh_last = (
            f"last call {fmt_time(last)} ({body.get('last_event')}), "
            f"{body.get('received_count')} in all"
            if last
            else "no call received yet"
        )

    @rx.event
    async def load(self):
        raw = self.router.url.query_parameters.get("id", "")
        self.wh_password = self.wh_error = ""
        if not raw.isdigit() or not self._authed():
            return None
        self._connector = raw
        try:
            self._apply(await self._guarded("GET", f"/connectors/{raw}/webhook"))
        except api.GatewayError as exc:
            self.wh_error = exc.message
        return None

    @rx.event
    async def create(self):
        try:
            body = await self._guarded("POST", f"/connectors/{self._connector}/webhook", json={})
        except api.GatewayError as exc:
            self.wh_error = exc.message
            return None
        self._apply(body)
        self.wh_password = str((body or {}).get("password") or "")
        return None

    @rx.event
    async def disable(self):
        try:
            await self._guarded("DELETE", f"/connectors/{self._connector}/webhook")
            self._apply(await self._guarded("GET", f"/connectors/{self._connector}/webhook"))
        except api.GatewayError as exc:
            self.wh_error = exc.message
        self.wh_password = ""
        return None


def _paste(label: str, value: rx.Var | str, id: str) -> rx.Component:
    return rx.flex(
        rx.text(label, size="2", color=rx.color("gray", 11), width="110px", flex_shrink="0"),
        rx.code(value, id=id, word_break="break-all"),
        gap="8px",
        align="center",
        width="100%",
    )


def webhook_card() -> rx.Component:
    """Settings → Connect → + → Webhook in the *arr app: what to paste there."""
    s = WebhookState
    return rx.card(
        rx.vstack(
            rx.heading("Webhook from the app", size="4"),
            rx.text(
                "Let the app tell Comradarr at once when it grabs or imports an item "
                "(the search is recorded as found without waiting for the history poll) "
                "and when its health changes. In the app: Settings → Connect → + → Webhook.",
                size="2",
                color=rx.color("gray", 11),
            ),
            _callout(s.wh_error, "red", "triangle-alert"),
            rx.cond(
                s.wh_enabled,
                rx.vstack(
                    _paste("Triggers", s.wh_triggers, "webhook-triggers"),
                    _paste("URL", s.wh_url, "webhook-url"),
                    _paste("Method", "POST", "webhook-method"),
                    _paste("Username", s.wh_username, "webhook-username"),
                    _paste(
                        "Password",
                        rx.cond(s.wh_password != "", s.wh_password, s.wh_masked),
                        "webhook-password",
                    ),
                    rx.cond(
                        s.wh_password != "",
                        rx.callout(
                            "Copy the password now: it is shown only this once.",
                            icon="key-round",
                            color_scheme="amber",
                            width="100%",
                        ),
                    ),
                    rx.text(
                        "If the app reaches Comradarr at another address than this URL shows, "
                        "use that host with the same path.",
                        size="1",
                        color=rx.color("gray", 10),
                    ),
                    rx.text(s.wh_last, size="1", color=rx.color("gray", 10), id="webhook-last"),
                    rx.hstack(
                        rx.button("New password", size="2", variant="soft", on_click=s.create),
                        rx.button(
                            "Turn off",
                            size="2",
                            variant="soft",
                            color_scheme="red",
                            on_click=s.disable,
                        ),
                    ),
                    spacing="2",
                    width="100%",
                ),
                rx.button(
                    rx.icon("webhook"), "Set up the webhook", on_click=s.create, id="webhook-create"
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        on_mount=s.load,
        id="webhook-card",
    )
