"""A connector's search rules beyond its throttle profile: download-queue backpressure,
search windows (days, times, time zone) and format-score upgrades. A self-contained card on
the connector pages: it reads the connector named by ?id= when shown and saves with PATCH.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from . import api
from .state import AuthState

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass
class WindowRow:
    days: list[str] = field(default_factory=lambda: list(DAYS))
    start: str = "01:00"
    end: str = "07:00"


class SearchRulesState(AuthState):
    rid: int = 0
    r_format: bool = True
    r_limit: str = ""
    r_tz: str = "UTC"
    r_windows: list[WindowRow] = []
    r_error: str = ""
    r_saving: bool = False

    def _apply(self, c: dict[str, Any]) -> None:
        self.r_format = bool(c.get("format_upgrades", True))
        limit = c.get("queue_limit")
        self.r_limit = "" if limit is None else str(limit)
        self.r_tz = str(c.get("search_timezone") or "UTC")
        self.r_windows = [
            WindowRow(
                days=[d for d in DAYS if d in (w.get("days") or [])],
                start=str(w.get("start") or ""),
                end=str(w.get("end") or ""),
            )
            for w in c.get("search_windows") or []
            if isinstance(w, dict)
        ]

    @rx.event
    async def load_rules(self):
        raw = self.router.url.query_parameters.get("id", "")
        self.r_error = ""
        if not raw.isdigit() or not self._authed():
            self.rid = 0
            return None
        self.rid = int(raw)
        try:
            c = await self._guarded("GET", f"/connectors/{raw}")
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.r_error = exc.message
            return None
        self._apply(c if isinstance(c, dict) else {})
        return None

    @rx.event
    def set_r_format(self, value: bool) -> None:
        self.r_format = value

    @rx.event
    def set_r_limit(self, value: str) -> None:
        self.r_limit = value.strip()

    @rx.event
    def set_r_tz(self, value: str) -> None:
        self.r_tz = value.strip()

    @rx.event
    def add_window(self) -> None:
        self.r_windows = [*self.r_windows, WindowRow()]

    @rx.event
    def remove_window(self, index: int) -> None:
        self.r_windows = [w for i, w in enumerate(self.r_windows) if i != index]

    @rx.event
    def toggle_day(self, index: int, day: str) -> None:
        rows = list(self.r_windows)
        days = set(rows[index].days) ^ {day}
        rows[index] = WindowRow(
            days=[d for d in DAYS if d in days], start=rows[index].start, end=rows[index].end
        )
        self.r_windows = rows

    @rx.event
    def set_start(self, index: int, value: str) -> None:
        rows = list(self.r_windows)
        rows[index] = WindowRow(days=rows[index].days, start=value, end=rows[index].end)
        self.r_windows = rows

    @rx.event
    def set_end(self, index: int, value: str) -> None:
        rows = list(self.r_windows)
        rows[index] = WindowRow(days=rows[index].days, start=rows[index].start, end=value)
        self.r_windows = rows

    @rx.event
    async def save_rules(self):
        if not self.rid:
            return None
        limit: int | None = None
        if self.r_limit:
            if not self.r_limit.isdigit() or int(self.r_limit) < 1:
                self.r_error = "The download queue limit must be a whole number of at least 1."
                return None
            limit = int(self.r_limit)
        payload = {
            "format_upgrades": self.r_format,
            "queue_limit": limit,
            "search_windows": [
                {"days": w.days, "start": w.start[:5], "end": w.end[:5]} for w in self.r_windows
            ],
            "search_timezone": self.r_tz or "UTC",
        }
        self.r_saving = True
        try:
            c = await self._guarded("PATCH", f"/connectors/{self.rid}", json=payload)
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.r_error = exc.message
            return None
        finally:
            self.r_saving = False
        self.r_error = ""
        self._apply(c if isinstance(c, dict) else {})
        return rx.toast.success("Search rules saved")


def _window_row(w: WindowRow, index: rx.Var) -> rx.Component:
    s = SearchRulesState
    return rx.flex(
        rx.flex(
            *[
                rx.button(
                    day.capitalize(),
                    size="1",
                    variant=rx.cond(w.days.contains(day), "solid", "soft"),
                    color_scheme=rx.cond(w.days.contains(day), "accent", "gray"),
                    on_click=s.toggle_day(index, day),
                    type="button",
                )
                for day in DAYS
            ],
            gap="4px",
            wrap="wrap",
        ),
        rx.input(
            type="time",
            value=w.start,
            on_change=lambda v: s.set_start(index, v),
            aria_label="From",
            size="1",
            width="110px",
        ),
        rx.text("to", size="2"),
        rx.input(
            type="time",
            value=w.end,
            on_change=lambda v: s.set_end(index, v),
            aria_label="Until",
            size="1",
            width="110px",
        ),
        rx.icon_button(
            rx.icon("x", size=14),
            size="1",
            variant="ghost",
            color_scheme="red",
            on_click=s.remove_window(index),
            aria_label="Remove window",
            type="button",
        ),
        align="center",
        gap="8px",
        wrap="wrap",
        class_name="rules-window",
    )


def search_rules_card() -> rx.Component:
    """The card; shows nothing until the page names a saved connector (?id=)."""
    s = SearchRulesState
    hint = rx.text(
        "Searches go out only inside these windows (an end before the start runs past "
        "midnight). None: any time. The queue shows the next window as each entry's "
        "estimate.",
        size="1",
        color=rx.color("gray", 10),
    )
    return rx.box(
        rx.cond(
            s.rid > 0,
            rx.card(
                rx.vstack(
                    rx.heading("Search rules", size="4"),
                    rx.flex(
                        rx.text("Download queue limit", size="2", weight="medium"),
                        rx.input(
                            value=s.r_limit,
                            on_change=s.set_r_limit,
                            placeholder="off",
                            type="number",
                            min=1,
                            width="110px",
                            id="rules-queue-limit",
                        ),
                        rx.text(
                            "Searches wait while the app's download queue holds at least this"
                            " many items (checked once a minute; if the check fails they go on).",
                            size="1",
                            color=rx.color("gray", 10),
                        ),
                        gap="8px",
                        align="center",
                        wrap="wrap",
                    ),
                    rx.text("Search windows", size="2", weight="medium"),
                    rx.foreach(s.r_windows, _window_row),
                    rx.flex(
                        rx.button(
                            rx.icon("plus", size=14),
                            "Add window",
                            size="1",
                            variant="soft",
                            on_click=s.add_window,
                            id="rules-add-window",
                            type="button",
                        ),
                        rx.text("Time zone", size="2"),
                        rx.input(
                            value=s.r_tz,
                            on_change=s.set_r_tz,
                            placeholder="Europe/Berlin",
                            width="200px",
                            id="rules-tz",
                        ),
                        gap="8px",
                        align="center",
                        wrap="wrap",
                    ),
                    hint,
                    rx.hstack(
                        rx.switch(checked=s.r_format, on_change=s.set_r_format, id="rules-format"),
                        rx.text(
                            "Upgrade files whose custom-format score is below their profile's"
                            " cutoff score (quality already at the cutoff)",
                            size="2",
                        ),
                        align="center",
                    ),
                    rx.cond(
                        s.r_error != "",
                        rx.callout(s.r_error, icon="triangle-alert", color_scheme="red"),
                    ),
                    rx.button(
                        "Save search rules",
                        on_click=s.save_rules,
                        loading=s.r_saving,
                        id="rules-save",
                    ),
                    spacing="3",
                    width="100%",
                ),
                width="100%",
            ),
        ),
        width="100%",
        on_mount=s.load_rules,
        id="search-rules",
    )
