"""Prowlarr indexer health: the Indexers page (name, state, until when, message, Prowlarr's
statistics, last checked; stale data said so) and a small dashboard card. Informational:
nothing waits on an indexer's state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import reflex as rx

from . import api
from .content import pill
from .layout import empty, page
from .state import AuthState

STATE_LABELS = {
    "healthy": ("healthy", "green"),
    "rate_limited": ("rate limited", "orange"),
    "failing": ("failing", "red"),
    "disabled": ("disabled", "gray"),
}


def _at(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def ago(seconds: float) -> str:
    """'45 s', '12 min', '3.5 h', '2 d'."""
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{int(seconds // 86400)} d"


def until_text(value: Any, now: datetime) -> str:
    """When a rate limit ends: 'in 23 min (14:05 UTC)'; '' without one."""
    at = _at(value)
    if at is None:
        return ""
    secs = (at - now).total_seconds()
    clock = at.astimezone(UTC).strftime("%H:%M UTC" if secs < 86400 else "%Y-%m-%d %H:%M UTC")
    if secs <= 0:
        return f"ended {clock}"
    return f"in {ago(secs)} ({clock})"


def checked_text(value: Any, now: datetime) -> str:
    at = _at(value)
    return "never" if at is None else f"{ago(max(0.0, (now - at).total_seconds()))} ago"


@dataclass
class IndexerRow:
    key: str = ""
    name: str = ""
    source: str = ""
    state: str = ""
    state_label: str = ""
    color: str = "gray"
    until: str = ""
    message: str = ""
    queries: str = "—"
    grabs: str = "—"
    failed: str = "—"
    checked: str = ""
    stale: bool = False


@dataclass
class SourceNote:
    name: str = ""
    text: str = ""


def indexer_row(item: dict[str, Any], now: datetime) -> IndexerRow:
    state = str(item.get("state") or "")
    label, color = STATE_LABELS.get(state, (state, "gray"))
    stats = item.get("statistics") if isinstance(item.get("statistics"), dict) else None
    return IndexerRow(
        key=f"{item.get('connector_id')}-{item.get('indexer_id')}",
        name=str(item.get("name") or ""),
        source=str(item.get("connector_name") or ""),
        state=state,
        state_label=label,
        color=color,
        until=until_text(item.get("until"), now),
        message=str(item.get("message") or ""),
        queries=str(stats.get("queries", 0)) if stats else "—",
        grabs=str(stats.get("grabs", 0)) if stats else "—",
        failed=(
            f"{stats.get('failed_queries', 0)} / {stats.get('failed_grabs', 0)}" if stats else "—"
        ),
        checked=checked_text(item.get("last_checked_at"), now),
        stale=bool(item.get("stale")),
    )


def stale_notes(sources: list[dict[str, Any]], now: datetime) -> list[SourceNote]:
    """One line per Prowlarr whose rows are stale: how old, and why."""
    notes = []
    for s in sources:
        if not s.get("stale"):
            continue
        name = str(s.get("name") or "Prowlarr")
        age = s.get("age_seconds")
        if not s.get("enabled"):
            text = "connector disabled: not polled"
        elif age is None:
            text = "not answered yet: waiting for the first poll"
        else:
            text = f"last answered {ago(float(age))} ago: showing that data"
        if s.get("error"):
            text += f" ({s['error']})"
        notes.append(SourceNote(name=name, text=text))
    return notes


def summary_text(summary: dict[str, Any]) -> str:
    parts = [
        f"{summary.get(key, 0)} {label}"
        for key, (label, _color) in STATE_LABELS.items()
        if summary.get(key, 0) or key == "healthy"
    ]
    return " · ".join(parts)


class IndexersState(AuthState):
    rows: list[IndexerRow] = []
    notes: list[SourceNote] = []
    summary: str = ""
    all_limited: str = ""
    sources: int = 0
    idx_note: str = ""
    idx_updated: str = ""

    def _apply(self, body: Any) -> None:
        now = datetime.now(UTC)
        body = body if isinstance(body, dict) else {}
        sources = [s for s in body.get("sources") or [] if isinstance(s, dict)]
        summary = body.get("summary") if isinstance(body.get("summary"), dict) else {}
        self.sources = len(sources)
        self.rows = [indexer_row(i, now) for i in body.get("indexers") or [] if isinstance(i, dict)]
        self.notes = stale_notes(sources, now)
        self.summary = summary_text(summary) if self.rows else ""
        self.all_limited = (
            "Every indexer is rate limited; the first comes back "
            + until_text(summary.get("all_rate_limited_until"), now)
            + ". Searches still go out, but find nothing until then."
            if summary.get("all_rate_limited")
            else ""
        )
        if not sources:
            self.idx_note = (
                "No Prowlarr connector yet. Add one under Connectors to see the health of"
                " your indexers here."
            )
        elif not self.rows:
            self.idx_note = "Prowlarr has not been read yet: the first poll runs within a minute."
        else:
            self.idx_note = ""
        self.idx_updated = datetime.now().strftime("%H:%M:%S")

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        try:
            self._apply(await self._guarded("GET", "/indexers"))
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.rows, self.notes, self.summary, self.idx_note = [], [], "", exc.message
        return None


def indexer_table_row(r: IndexerRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(r.name, weight="medium", size="2"),
                rx.text(r.source, size="1", color=rx.color("gray", 10)),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.hstack(
                pill(r.state_label, r.color),
                rx.cond(r.stale, rx.badge("stale", variant="outline", color_scheme="gray")),
                spacing="1",
            ),
            class_name="indexer-state",
        ),
        rx.table.cell(rx.text(r.until, size="2"), class_name="indexer-until"),
        rx.table.cell(
            rx.text(r.message, size="1", color=rx.color("gray", 11)),
            class_name="indexer-message",
            max_width="320px",
        ),
        rx.table.cell(rx.text(r.queries, size="2"), display=["none", "none", "table-cell"]),
        rx.table.cell(rx.text(r.grabs, size="2"), display=["none", "none", "table-cell"]),
        rx.table.cell(rx.text(r.failed, size="2"), display=["none", "none", "table-cell"]),
        rx.table.cell(
            rx.text(r.checked, size="1", color=rx.color("gray", 10)),
            display=["none", "table-cell"],
        ),
        class_name="indexer-row",
    )


def indexers() -> rx.Component:
    s = IndexersState
    header = rx.flex(
        rx.text(s.summary, size="2", id="indexer-summary"),
        rx.spacer(),
        rx.text("Updated " + s.idx_updated, size="1", color=rx.color("gray", 10)),
        align="center",
        gap="12px",
        width="100%",
    )
    limited = rx.cond(
        s.all_limited != "",
        rx.callout(
            s.all_limited, icon="timer", color_scheme="orange", width="100%", id="all-limited"
        ),
    )
    stale = rx.foreach(
        s.notes,
        lambda n: rx.callout(
            rx.text(rx.text.strong(n.name), ": ", n.text),
            icon="clock-alert",
            color_scheme="gray",
            width="100%",
            class_name="stale-note",
        ),
    )
    table = rx.cond(
        s.rows.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Indexer"),
                        rx.table.column_header_cell("State"),
                        rx.table.column_header_cell("Until"),
                        rx.table.column_header_cell("Message"),
                        rx.table.column_header_cell(
                            "Queries", display=["none", "none", "table-cell"]
                        ),
                        rx.table.column_header_cell(
                            "Grabs", display=["none", "none", "table-cell"]
                        ),
                        rx.table.column_header_cell(
                            "Failed (queries / grabs)", display=["none", "none", "table-cell"]
                        ),
                        rx.table.column_header_cell("Last checked", display=["none", "table-cell"]),
                    )
                ),
                rx.table.body(rx.foreach(s.rows, indexer_table_row)),
                width="100%",
                size="1",
                variant="surface",
                id="indexer-table",
            ),
            width="100%",
            overflow_x="auto",
        ),
        empty(s.idx_note, "radio-tower"),
    )
    note = rx.text(
        "Read from Prowlarr every few minutes. Informational: searches never wait on an"
        " indexer's state; Prowlarr itself skips the indexers it has disabled.",
        size="1",
        color=rx.color("gray", 10),
    )
    refresh = rx.button(
        rx.icon("refresh-cw", size=16),
        "Refresh",
        variant="soft",
        on_click=s.load,
        id="indexers-refresh",
    )
    return page("Indexers", header, limited, stale, table, note, actions=refresh)


# --- dashboard card -------------------------------------------------------------------------


def indexer_card() -> rx.Component:
    """Indexer health at a glance; shown once a Prowlarr connector exists. Self-contained:
    it loads its data when mounted."""
    s = IndexersState
    return rx.box(
        rx.cond(
            s.sources > 0,
            rx.link(
                rx.card(
                    rx.vstack(
                        rx.hstack(
                            rx.icon("radio-tower", size=18),
                            rx.text("Indexers", weight="bold", size="3"),
                            align="center",
                        ),
                        rx.text(
                            rx.cond(s.summary != "", s.summary, s.idx_note),
                            size="2",
                            id="indexer-card-summary",
                        ),
                        rx.cond(
                            s.all_limited != "",
                            rx.text(s.all_limited, size="1", color=rx.color("orange", 11)),
                        ),
                        rx.foreach(
                            s.notes,
                            lambda n: rx.text(
                                n.name + ": " + n.text, size="1", color=rx.color("gray", 10)
                            ),
                        ),
                        spacing="1",
                        width="100%",
                    ),
                    width="100%",
                ),
                href="/indexers",
                underline="none",
                color="inherit",
            ),
        ),
        width="100%",
        on_mount=s.load,
        id="indexer-card",
    )
