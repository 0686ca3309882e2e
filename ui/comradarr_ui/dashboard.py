"""The dashboard: how the library is doing (figures, completion per connector), what runs
next and now, and the activity feed (the last 50 events, kept in the database), refreshed
every few seconds while the page is open."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import reflex as rx

from . import api, live
from .indexers import indexer_card
from .layout import empty, page, status_badge
from .state import STATUS_COLORS, AuthState

POLL_SECONDS = 5.0
WATCH_MINUTES = 15
KINDS = [("all", "All"), ("search", "Searches"), ("sync", "Syncs"), ("discovery", "Discovery")]
KINDS += [("health", "Health")]
KIND_COLORS = {"search": "indigo", "sync": "cyan", "discovery": "violet", "health": "green"}
OUTCOME_COLORS = {
    "found": "green",
    "not_found": "gray",
    "failed": "red",
    "rate_limited": "orange",
    "skipped": "orange",
    "success": "cyan",
    "healthy": "green",
    "degraded": "yellow",
    "unhealthy": "red",
    "offline": "red",
}


@dataclass
class Figure:
    key: str = ""
    label: str = ""
    value: str = ""
    detail: str = ""


@dataclass
class Completion:
    id: int = 0
    name: str = ""
    type: str = ""
    status: str = "unknown"
    color: str = "gray"
    percent: int = 0
    percent_text: str = "—"
    detail: str = ""
    points: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Upcoming:
    what: str = ""
    when: str = ""


@dataclass
class Running:
    what: str = ""
    stage: str = ""
    percent: int = 0
    detail: str = ""


@dataclass
class Event:
    when: str = ""
    kind: str = ""
    kind_color: str = "gray"
    color: str = "gray"
    text: str = ""


def _local(value: Any, tz: str, *, with_day: bool = False) -> str:
    """An ISO time in the configured zone: 'HH:MM', or 'Tue 14:20' when with_day."""
    if not value:
        return "—"
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
    except (ValueError, KeyError):
        return str(value)
    today = datetime.now(ZoneInfo(tz)).date()
    if when.date() == today and not with_day:
        return when.strftime("%H:%M")
    if when.date() == today:
        return "today " + when.strftime("%H:%M")
    return when.strftime("%a %d %b %H:%M")


def _rate(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.0f}%"


def figures_of(f: dict[str, Any]) -> list[Figure]:
    """The five headline figures."""

    def n(key: str) -> str:
        return f"{int(f.get(key) or 0):,}"

    return [
        Figure(key="gaps", label="Missing", value=n("gaps"), detail="items without a file"),
        Figure(key="upgrades", label="Upgrades", value=n("upgrades"), detail="below the cutoff"),
        Figure(key="queued", label="In the queue", value=n("queued"), detail="waiting to search"),
        Figure(
            key="searched-today",
            label="Searched today",
            value=n("searched_today"),
            detail=f"{n('found_today')} found",
        ),
        Figure(
            key="success-rate",
            label="Success rate",
            value=_rate(f.get("success_rate_today")),
            detail=f"today · {_rate(f.get('success_rate_7d'))} over 7 days",
        ),
    ]


def completion_of(c: dict[str, Any]) -> Completion:
    share = c.get("completion")
    status = str(c.get("health_status") or "unknown")
    monitored, with_file = int(c.get("monitored") or 0), int(c.get("with_file") or 0)
    what = "movies" if c.get("type") == "radarr" else "episodes"
    return Completion(
        id=int(c.get("connector_id") or 0),
        name=str(c.get("name") or ""),
        type=str(c.get("type") or ""),
        status=status,
        color=STATUS_COLORS.get(status, "gray"),
        percent=round(float(share) * 100) if share is not None else 0,
        percent_text=f"{float(share) * 100:.1f}%" if share is not None else "—",
        detail=(
            f"{with_file:,} of {monitored:,} monitored {what} have a file"
            if monitored
            else ("No library: indexers only" if c.get("type") == "prowlarr" else "Not synced yet")
        ),
        points=[
            {"day": str(p.get("day")), "completion": round(float(p.get("completion") or 0) * 100)}
            for p in c.get("daily") or []
        ],
    )


class DashboardState(AuthState):
    figures: list[Figure] = []
    cards: list[Completion] = []
    upcoming: list[Upcoming] = []
    running: list[Running] = []
    events: list[Event] = []
    kind: str = "all"
    dash_note: str = ""
    feed_note: str = ""
    updated: str = ""
    live: bool = False
    _polling: bool = False
    _watch_until: float = 0.0

    def _params(self) -> dict[str, Any]:
        return {"limit": 50} | ({"kind": self.kind} if self.kind != "all" else {})

    def _apply(self, dash: Any, feed: Any) -> None:
        dash = dash if isinstance(dash, dict) else {}
        tz = str(dash.get("timezone") or "UTC")
        self.figures = figures_of(dash.get("figures") or {})
        self.cards = [completion_of(c) for c in dash.get("connectors") or []]
        self.upcoming = [
            Upcoming(
                what=f"{s.get('schedule_name') or s.get('sync_mode', '') + ' sweep'}"
                f" · {s.get('connector_name')}",
                when=_local(s.get("at"), tz, with_day=True),
            )
            for s in dash.get("next_sweeps") or []
        ]
        running = []
        for r in dash.get("running") or []:
            fetched, total = r.get("fetched"), r.get("total")
            if r.get("stage") == "discovering":
                detail, percent = "finding what is missing", 100
            elif fetched is not None and total:
                detail = f"{int(fetched):,} of {int(total):,} records read"
                percent = min(100, round(int(fetched) * 100 / int(total)))
            else:
                detail = f"{int(fetched or 0):,} records read" if fetched else "starting"
                percent = 0
            running.append(
                Running(
                    what=f"{r.get('connector_name')} · {r.get('sync_mode') or ''} sweep".replace(
                        "  ", " "
                    ),
                    stage=str(r.get("stage") or ""),
                    percent=percent,
                    detail=f"{detail}, since {_local(r.get('started_at'), tz)}",
                )
            )
        self.running = running
        self.events = [
            Event(
                when=_local(e.get("at"), tz, with_day=True),
                kind=str(e.get("kind") or ""),
                kind_color=KIND_COLORS.get(str(e.get("kind")), "gray"),
                color=OUTCOME_COLORS.get(str(e.get("outcome")), "gray"),
                text=str(e.get("text") or ""),
            )
            for e in api.items_of(feed)
        ]
        self.feed_note = "" if self.events else "Nothing has happened yet."
        self.updated = datetime.now(ZoneInfo(tz)).strftime("%H:%M:%S")

    async def _fetch(self) -> None:
        dash = await self._guarded("GET", "/dashboard")
        feed = await self._guarded("GET", "/activity", params=self._params())
        self._apply(dash, feed)

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        try:
            await self._fetch()
            self.dash_note = ""
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.dash_note = exc.message
        self._watch_until = time.monotonic() + WATCH_MINUTES * 60
        if not self._polling:
            return DashboardState.poll
        return None

    @rx.event
    async def set_kind(self, kind: str | list[str]):
        chosen = kind[0] if isinstance(kind, list) and kind else kind
        self.kind = chosen if isinstance(chosen, str) and chosen in dict(KINDS) else "all"
        try:
            feed = await self._guarded("GET", "/activity", params=self._params())
            dash = await self._guarded("GET", "/dashboard")
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            return rx.toast.error(exc.message)
        self._apply(dash, feed)
        return None

    @rx.event(background=True)
    async def poll(self):
        """Refresh while this tab shows the dashboard (stops when the user leaves)."""

        async def fetch(session: api.Session, params: dict[str, Any]) -> tuple[Any, Any]:
            dash, _ = await api.call("GET", "/dashboard", session=session)
            feed, _ = await api.call("GET", "/activity", session=session, params=params)
            return dash, feed

        await live.follow(
            self,
            path="/",
            seconds=POLL_SECONDS,
            fetch=fetch,
            apply=lambda got: self._apply(*got),
            params=self._params,
        )


# ---------- components ----------


def figure_tile(f: Figure) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(f.label, size="2", color=rx.color("gray", 11)),
            rx.text(f.value, size="7", weight="bold", class_name="figure-value"),
            rx.text(f.detail, size="1", color=rx.color("gray", 10)),
            spacing="1",
        ),
        id="fig-" + f.key,
        class_name="figure",
        flex="1 1 150px",
        min_width="150px",
    )


def sparkline(c: Completion) -> rx.Component:
    """30 days of completion, drawn when the daily figures exist (never made up)."""
    return rx.cond(
        c.points.length() > 1,
        rx.recharts.line_chart(
            rx.recharts.line(data_key="completion", dot=False, stroke=rx.color("accent", 9)),
            rx.recharts.y_axis(domain=[0, 100], hide=True),
            data=c.points,
            height=40,
            width="100%",
        ),
        rx.text(
            "30-day trend appears once daily figures exist.", size="1", color=rx.color("gray", 9)
        ),
    )


def completion_card(c: Completion) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.text(c.name, weight="bold", size="3", trim="both"),
                    rx.spacer(),
                    status_badge(c.status, c.color),
                    width="100%",
                    align="center",
                ),
                rx.hstack(
                    rx.text(c.percent_text, size="6", weight="bold", class_name="completion"),
                    rx.text("complete", size="2", color=rx.color("gray", 11)),
                    align="baseline",
                    spacing="2",
                ),
                rx.progress(value=c.percent, width="100%"),
                rx.text(c.detail, size="1", color=rx.color("gray", 10)),
                sparkline(c),
                spacing="2",
                width="100%",
            ),
            width="100%",
        ),
        href="/connector?id=" + c.id.to_string(),
        underline="none",
        color="inherit",
        class_name="completion-card",
    )


def sweeps_card() -> rx.Component:
    s = DashboardState
    return rx.card(
        rx.vstack(
            rx.heading("Sweeps", size="4"),
            rx.foreach(
                s.running,
                lambda r: rx.vstack(
                    rx.hstack(
                        rx.spinner(size="1"),
                        rx.text(r.what, size="2", weight="medium"),
                        rx.badge(r.stage, variant="soft"),
                        align="center",
                        wrap="wrap",
                    ),
                    rx.progress(value=r.percent, width="100%"),
                    rx.text(r.detail, size="1", color=rx.color("gray", 10)),
                    spacing="1",
                    width="100%",
                    class_name="running-sweep",
                ),
            ),
            rx.cond(
                s.upcoming.length() > 0,
                rx.vstack(
                    rx.text("Next", size="2", color=rx.color("gray", 11)),
                    rx.foreach(
                        s.upcoming,
                        lambda u: rx.vstack(
                            rx.text(u.what, size="2", weight="medium"),
                            rx.text(u.when, size="1", color=rx.color("gray", 10)),
                            spacing="0",
                            width="100%",
                            class_name="next-sweep",
                        ),
                    ),
                    spacing="2",
                    width="100%",
                ),
                rx.cond(
                    s.running.length() == 0,
                    rx.text("No sweeps scheduled.", size="2", color=rx.color("gray", 10)),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        id="sweeps",
        width="100%",
        align_self="start",
    )


def activity_row(e: Event) -> rx.Component:
    return rx.hstack(
        rx.text(e.when, size="1", color=rx.color("gray", 10), min_width=["56px", "104px"]),
        rx.box(
            width="8px",
            height="8px",
            border_radius="50%",
            background=rx.color(e.color, 9),
            flex_shrink="0",
        ),
        rx.text(e.text, size="2", class_name="activity-text", flex="1", min_width="0"),
        rx.badge(
            e.kind, color_scheme=e.kind_color, variant="soft", display=["none", "inline-flex"]
        ),
        align="center",
        width="100%",
        class_name="activity-row",
    )


def activity_card() -> rx.Component:
    s = DashboardState
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading("Activity", size="4"),
                rx.spacer(),
                rx.segmented_control.root(
                    *[rx.segmented_control.item(label, value=value) for value, label in KINDS],
                    value=s.kind,
                    on_change=s.set_kind,
                    size="1",
                    width=["100%", "auto"],
                    id="activity-kind",
                ),
                align="center",
                wrap="wrap",
                gap="8px",
                width="100%",
            ),
            rx.cond(
                s.events.length() > 0,
                rx.vstack(rx.foreach(s.events, activity_row), spacing="2", width="100%"),
                rx.text(s.feed_note, size="2", color=rx.color("gray", 10)),
            ),
            spacing="3",
            width="100%",
        ),
        id="activity-feed",
        width="100%",
        grid_column=rx.breakpoints(initial="auto", lg="span 2"),
    )


def dashboard() -> rx.Component:
    s = DashboardState
    return page(
        "Dashboard",
        rx.cond(
            s.dash_note != "",
            rx.callout(s.dash_note, icon="triangle-alert", color_scheme="red", width="100%"),
        ),
        rx.flex(rx.foreach(s.figures, figure_tile), gap="12px", wrap="wrap", width="100%"),
        rx.cond(
            s.cards.length() > 0,
            rx.grid(
                rx.foreach(s.cards, completion_card),
                columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                spacing="3",
                width="100%",
            ),
            empty("No connectors yet. Add one under Connectors to start.", "plug"),
        ),
        indexer_card(),
        rx.grid(
            sweeps_card(),
            activity_card(),
            columns=rx.breakpoints(initial="1", lg="3"),
            spacing="4",
            width="100%",
            class_name="dash-lower",
        ),
        actions=rx.cond(
            s.live,
            rx.text("Live · ", s.updated, size="1", color=rx.color("gray", 10), id="dash-live"),
        ),
    )
