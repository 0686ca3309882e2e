"""The search queue: priority order, estimated dispatch, why items wait, live updates (a
background poll every few seconds while the page is open), pause/resume/clear, recent
completions."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import reflex as rx

from . import api, live
from .analytics import Choice
from .content import STATE_COLORS, outcome_icon, pill
from .layout import empty, page
from .state import AuthState, fmt_time

POLL_SECONDS = 3.0
WATCH_MINUTES = 15
PAGE_SIZE = 25
MAX_SHOWN = 200
PRIORITY_CHOICES = [("Top (+100)", 100), ("High (+50)", 50), ("Normal", 0), ("Low (-50)", -50)]
# The type filter: label → the API's search_type ("all": no filter).
TYPE_CHOICES = {"All types": "all", "Gaps": "gap", "Upgrades": "upgrade", "Format score": "format"}
TYPE_LABELS = {"gap": "gap", "upgrade": "upgrade", "format": "format score"}


@dataclass
class QueueRow:
    id: int = 0
    title: str = ""
    kind: str = ""
    search_type: str = ""
    state: str = ""
    state_color: str = "gray"
    searching: bool = False
    priority: str = ""
    user_priority: str = ""
    eta: str = ""
    why: str = ""
    why_code: str = ""
    attempts: int = 0
    href: str = ""


@dataclass
class RecentRow:
    id: int = 0
    title: str = ""
    outcome: str = ""
    icon: str = "circle-dot"
    color: str = "gray"
    when: str = ""
    detail: str = ""


def _eta(value: Any, now: datetime) -> str:
    if not value:
        return "—"  # no estimate: in flight, paused or blocked (the reason says which)
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    secs = (at - now).total_seconds()
    if secs <= 30:
        return "now"
    if secs < 3600:
        return f"in {int(secs // 60) or 1} min"
    if secs < 86400:
        return f"in {secs / 3600:.1f} h"
    return at.strftime("%Y-%m-%d %H:%M")


def queue_row(item: dict[str, Any], now: datetime) -> QueueRow:
    state = str(item.get("state") or "")
    waits = [w for w in item.get("waiting") or [] if isinstance(w, dict)]
    up = item.get("user_priority")
    href = (
        f"/content/series?id={item.get('content_id')}"
        if item.get("content_type") == "episode"
        else f"/content/movie?id={item.get('movie_id') or item.get('content_id')}"
    )
    return QueueRow(
        id=int(item.get("id") or 0),
        title=str(item.get("title") or "(untitled)"),
        kind=str(item.get("content_type") or ""),
        search_type=TYPE_LABELS.get(str(item.get("search_type") or ""), ""),
        state=state,
        state_color=STATE_COLORS.get(state, "gray"),
        searching=state in ("searching", "queued"),
        priority=f"{float(item.get('priority') or 0):.1f}",
        user_priority=f"{up:+d}" if isinstance(up, int) else "",
        eta=_eta(item.get("estimated_dispatch_at"), now),
        why="; ".join(
            ([str(item["upgrade_detail"])] if item.get("upgrade_detail") else [])
            + [str(w.get("message") or w.get("code")) for w in waits]
        ),
        why_code=str(waits[0].get("code") or "") if waits else "",
        attempts=int(item.get("attempts") or 0),
        href=href,
    )


class QueueState(AuthState):
    items: list[QueueRow] = []
    recent: list[RecentRow] = []
    paused: bool = False
    total: int = 0
    q_note: str = ""
    updated: str = ""
    live: bool = False
    confirm_clear: bool = False
    limit: int = PAGE_SIZE
    type_filter: str = "All types"
    # "all" or a connector id; ?connector=ID opens the page filtered (the connector page links it).
    connector: str = "all"
    connectors: list[Choice] = []
    _polling: bool = False
    _watch_until: float = 0.0

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"page_size": self.limit}
        kind = TYPE_CHOICES.get(self.type_filter, "all")
        if kind != "all":
            params["search_type"] = kind
        if self.connector != "all":
            params["connector_id"] = self.connector
        return params

    @rx.event
    async def set_connector(self, value: str):
        known = {c.value for c in self.connectors}
        self.connector = value if value in known else "all"
        self.limit = PAGE_SIZE
        return await self._refetch()

    async def _load_connectors(self) -> None:
        body = await self._guarded("GET", "/connectors")
        self.connectors = [Choice(value="all", label="All connectors")] + [
            Choice(value=str(c["id"]), label=str(c.get("name") or f"connector {c['id']}"))
            for c in api.items_of(body)
            if c.get("type") != "prowlarr"
        ]
        wanted = self.router.url.query_parameters.get("connector", "")
        known = {c.value for c in self.connectors}
        self.connector = wanted if wanted in known else "all"

    @rx.event
    async def set_type_filter(self, value: str):
        self.type_filter = value if value in TYPE_CHOICES else "All types"
        self.limit = PAGE_SIZE
        return await self._refetch()

    async def _refetch(self):
        """Read the page again; a failure is a toast (or the login page)."""
        try:
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            return rx.toast.error(exc.message)
        return None

    async def _fetch(self) -> None:
        body = await self._guarded("GET", "/queue", params=self._params())
        recent = await self._guarded("GET", "/queue/recent", params={"limit": 15})
        self._apply(body, recent)

    def _apply(self, body: Any, recent: Any) -> None:
        now = datetime.now(UTC)
        body = body if isinstance(body, dict) else {}
        self.paused = bool(body.get("paused"))
        self.total = int(body.get("total") or 0)
        self.items = [queue_row(i, now) for i in api.items_of(body)]
        rows = []
        for r in api.items_of(recent):
            outcome = str(r.get("outcome") or "")
            icon, color = outcome_icon(outcome)
            rows.append(
                RecentRow(
                    id=int(r.get("id") or 0),
                    title=str(r.get("title") or "(untitled)"),
                    outcome=outcome.replace("_", " "),
                    icon=icon,
                    color=color,
                    when=fmt_time(r.get("ended_at") or r.get("started_at"))[11:],
                    detail=str(r.get("error") or r.get("command_name") or ""),
                )
            )
        self.recent = rows
        self.q_note = "" if self.items else "The queue is empty: nothing waits for a search."
        self.updated = datetime.now().strftime("%H:%M:%S")

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self.confirm_clear = False
        self.limit = PAGE_SIZE
        try:
            await self._load_connectors()
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        except api.NotAvailable:
            self.items, self.q_note = [], "The queue is not available yet."
            return None
        except api.GatewayError as exc:
            self.items, self.q_note = [], exc.message
        self._watch_until = time.monotonic() + WATCH_MINUTES * 60
        if not self._polling:
            return QueueState.poll
        return None

    @rx.event(background=True)
    async def poll(self):
        """Refresh every few seconds while this tab shows the queue."""

        async def fetch(session: api.Session, params: dict[str, Any]) -> tuple[Any, Any]:
            body, _ = await api.call("GET", "/queue", session=session, params=params)
            recent, _ = await api.call(
                "GET", "/queue/recent", session=session, params={"limit": 15}
            )
            return body, recent

        await live.follow(
            self,
            path="/queue",
            seconds=POLL_SECONDS,
            fetch=fetch,
            apply=lambda got: self._apply(*got),
            params=self._params,
        )

    async def _command(self, method: str, path: str, done: str, **kwargs: Any):
        try:
            await self._guarded(method, path, **kwargs)
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            return rx.toast.error(exc.message)
        await asyncio.sleep(0.4)  # let the dispatcher apply the command
        with contextlib.suppress(api.GatewayError):
            await self._fetch()
        return rx.toast.success(done)

    @rx.event
    async def pause(self):
        return await self._command("POST", "/queue/pause", "Queue paused", json={})

    @rx.event
    async def resume(self):
        return await self._command("POST", "/queue/resume", "Queue resumed", json={})

    @rx.event
    async def more(self):
        self.limit = min(MAX_SHOWN, self.limit + PAGE_SIZE)
        return await self._refetch()

    @rx.event
    async def clear(self):
        self.confirm_clear = False
        return await self._command("POST", "/queue/clear", "Queue cleared", json={"confirm": True})

    @rx.event
    async def set_priority(self, registry_id: int, value: int):
        return await self._command(
            "PATCH",
            f"/queue/{registry_id}",
            "Priority changed",
            json={"priority": None if value == 0 else value},
        )

    @rx.event
    async def remove(self, registry_id: int):
        return await self._command("DELETE", f"/queue/{registry_id}", "Removed from the queue")


def queue_item(r: QueueRow) -> rx.Component:
    s = QueueState
    return rx.table.row(
        rx.table.cell(
            rx.cond(
                r.searching,
                rx.spinner(size="2", class_name="processing"),
                rx.icon("clock", size=16, color=rx.color("gray", 9)),
            ),
            width="28px",
        ),
        rx.table.cell(
            rx.vstack(
                rx.link(r.title, href=r.href, weight="medium", size="2"),
                rx.text(r.why, size="1", color=rx.color("gray", 10), class_name="wait-reason"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.flex(pill(r.state, r.state_color), pill(r.search_type, "gray"), gap="4px")
        ),
        rx.table.cell(
            rx.hstack(
                rx.text(r.priority, size="2"),
                rx.cond(r.user_priority != "", rx.badge(r.user_priority, variant="outline")),
                spacing="1",
            ),
            display=["none", "table-cell"],
        ),
        rx.table.cell(rx.text(r.eta, size="2"), display=["none", "none", "table-cell"]),
        rx.table.cell(
            rx.menu.root(
                rx.menu.trigger(
                    rx.icon_button(
                        rx.icon("ellipsis", size=16),
                        variant="ghost",
                        aria_label="Item actions",
                        class_name="item-menu",
                    )
                ),
                rx.menu.content(
                    rx.text("Priority", size="1", color=rx.color("gray", 10), padding_x="8px"),
                    *[
                        rx.menu.item(label, on_click=s.set_priority(r.id, value))
                        for label, value in PRIORITY_CHOICES
                    ],
                    rx.menu.separator(),
                    rx.menu.item("Remove from queue", color="red", on_click=s.remove(r.id)),
                ),
            ),
            width="40px",
        ),
        class_name="queue-row",
    )


def recent_line(r: RecentRow) -> rx.Component:
    return rx.hstack(
        rx.icon(r.icon, size=18, color=rx.color(r.color, 9)),
        rx.vstack(
            rx.text(r.title, size="2", weight="medium"),
            rx.text(r.outcome + " · " + r.when, size="1", color=rx.color("gray", 10)),
            spacing="0",
            min_width="0",
        ),
        align="center",
        width="100%",
        class_name="recent-row",
    )


def queue() -> rx.Component:
    s = QueueState
    controls = rx.flex(
        rx.cond(
            s.paused,
            rx.button(rx.icon("play", size=16), "Resume", on_click=s.resume, id="queue-resume"),
            rx.button(
                rx.icon("pause", size=16),
                "Pause",
                variant="soft",
                on_click=s.pause,
                id="queue-pause",
            ),
        ),
        rx.alert_dialog.root(
            rx.alert_dialog.trigger(
                rx.button(
                    rx.icon("trash-2", size=16),
                    "Clear",
                    variant="soft",
                    color_scheme="red",
                    id="queue-clear",
                )
            ),
            rx.alert_dialog.content(
                rx.alert_dialog.title("Clear the queue?"),
                rx.alert_dialog.description(
                    "Every waiting entry is removed. Items still missing come back with the "
                    "next sweep."
                ),
                rx.flex(
                    rx.alert_dialog.cancel(
                        rx.button("Cancel", variant="soft", color_scheme="gray")
                    ),
                    rx.alert_dialog.action(
                        rx.button(
                            "Clear queue", color_scheme="red", on_click=s.clear, id="confirm-clear"
                        )
                    ),
                    gap="8px",
                    justify="end",
                    margin_top="16px",
                ),
            ),
        ),
        gap="8px",
    )
    status = rx.flex(
        rx.cond(
            s.paused,
            rx.badge(
                rx.icon("pause", size=14),
                "Paused",
                color_scheme="orange",
                size="2",
                id="queue-state",
            ),
            rx.badge(
                rx.icon("play", size=14),
                "Running",
                color_scheme="green",
                size="2",
                id="queue-state",
            ),
        ),
        rx.text(s.total.to_string() + " waiting", size="2", id="queue-total"),
        rx.select(
            list(TYPE_CHOICES),
            value=s.type_filter,
            on_change=s.set_type_filter,
            size="1",
            id="queue-type",
        ),
        rx.select.root(
            rx.select.trigger(placeholder="All connectors", id="queue-connector"),
            rx.select.content(
                rx.foreach(s.connectors, lambda c: rx.select.item(c.label, value=c.value))
            ),
            value=s.connector,
            on_change=s.set_connector,
            size="1",
        ),
        rx.spacer(),
        rx.cond(
            s.live,
            rx.hstack(
                rx.box(
                    width="8px",
                    height="8px",
                    border_radius="50%",
                    background=rx.color("green", 9),
                    class_name="live-dot",
                ),
                rx.text("Live · " + s.updated, size="1", color=rx.color("gray", 10)),
                align="center",
                spacing="1",
                id="queue-live",
            ),
            rx.text("Updated " + s.updated, size="1", color=rx.color("gray", 10)),
        ),
        align="center",
        gap="12px",
        width="100%",
        flex_wrap="wrap",  # two filters and the state do not fit a phone's width on one line
    )
    table = rx.cond(
        s.items.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(""),
                        rx.table.column_header_cell("Item · why it waits"),
                        rx.table.column_header_cell("State"),
                        rx.table.column_header_cell("Priority", display=["none", "table-cell"]),
                        rx.table.column_header_cell(
                            "Dispatch", display=["none", "none", "table-cell"]
                        ),
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(s.items, queue_item)),
                width="100%",
                size="1",
                variant="surface",
                id="queue-table",
            ),
            rx.cond(
                (s.total > s.items.length()) & (s.limit < MAX_SHOWN),
                rx.button(
                    "Show more",
                    variant="soft",
                    color_scheme="gray",
                    on_click=s.more,
                    width="100%",
                    margin_top="8px",
                    id="queue-more",
                ),
            ),
            width="100%",
            overflow_x="auto",
        ),
        empty(s.q_note, "list-ordered"),
    )
    recent = rx.card(
        rx.vstack(
            rx.heading("Recent searches", size="3"),
            rx.cond(
                s.recent.length() > 0,
                rx.vstack(rx.foreach(s.recent, recent_line), spacing="2", width="100%"),
                rx.text("No searches finished yet.", size="2", color=rx.color("gray", 10)),
            ),
            width="100%",
            id="recent",
        ),
        width="100%",
        align_self="start",
    )
    return page(
        "Queue",
        status,
        rx.grid(
            rx.box(table, min_width="0"),
            recent,
            columns=rx.breakpoints(initial="1", lg="2"),
            grid_template_columns=["1fr", "1fr", "1fr", "2fr 1fr"],
            gap="16px",
            width="100%",
        ),
        actions=controls,
    )
