"""Analytics: what the searching achieved over a period, per connector or all — charts
(recharts through Reflex), connectors side by side, content insights, CSV export."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import reflex as rx

from . import api, downloads
from .layout import empty, page
from .state import AuthState

RANGES = [("24h", "24h"), ("7d", "7d"), ("30d", "30d"), ("90d", "90d"), ("custom", "Custom")]
# (chart key, metric, group): each key becomes a column of its chart's rows.
SERIES: list[tuple[str, str, str]] = [
    ("searches", "searches", "dim"),
    ("items_searched", "items_searched", "none"),
    ("items_found", "items_found", "none"),
    ("success_rate", "success_rate", "none"),
    ("gaps_new", "gaps_new", "none"),
    ("gaps_closed", "gaps_closed", "none"),
    ("upgrades_new", "upgrades_new", "none"),
    ("upgrades_closed", "upgrades_closed", "none"),
    ("queue_depth", "queue_depth", "dim"),
    ("response_p50", "response_p50", "none"),
    ("response_p95", "response_p95", "none"),
    ("arr_errors", "arr_errors", "dim"),
    ("completion", "completion", "none"),
]
COMMANDS = ["EpisodeSearch", "SeasonSearch", "MoviesSearch"]
STATES = ["pending", "queued", "searching", "cooldown", "exhausted"]
CATEGORIES = ["network", "auth", "rate_limited", "server", "client"]
PALETTE = ["indigo", "teal", "amber", "crimson", "violet", "grass"]
CHART_HEIGHT = 220


@dataclass
class Choice:
    value: str = ""
    label: str = ""


@dataclass
class Card:
    label: str = ""
    value: str = ""
    hint: str = ""


@dataclass
class CompareRow:
    connector_id: int = 0
    name: str = ""
    type: str = ""
    searches: str = ""
    found: str = ""
    success: str = ""
    p50: str = ""
    p95: str = ""
    errors: str = ""
    error_rate: str = ""
    closed: str = ""
    queue: str = ""
    completion: str = ""


@dataclass
class InsightRow:
    title: str = ""
    href: str = ""
    connector: str = ""
    detail: str = ""
    badge: str = ""
    color: str = "gray"


@dataclass
class QualityRow:
    name: str = ""
    amount: str = ""
    share: str = ""
    width: str = "0%"


@dataclass
class MetricChoice:
    name: str = ""
    label: str = ""
    checked: bool = True


def _percent(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def _ms(value: Any) -> str:
    return "—" if value is None else f"{float(value):,.0f} ms"


def _count(value: Any) -> str:
    return f"{round(float(value or 0)):,}"


def _label(iso: str, bucket: str) -> str:
    """A bucket's start for an axis: its local date, and hour for hourly buckets."""
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return at.strftime("%d %b %H:%M") if bucket == "hour" else at.strftime("%d %b")


def _scaled(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in ("success_rate", "completion"):
        return round(float(value) * 100, 1)  # percent on the axis
    return round(float(value), 1)


def chart_rows(answers: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per bucket with a column per series (a split series: one per dim)."""
    rows: list[dict[str, Any]] = []
    for key, body in answers.items():
        buckets = body.get("buckets") or []
        bucket = str(body.get("bucket") or "day")
        if not rows:
            rows = [{"t": _label(b, bucket)} for b in buckets]
        if len(buckets) != len(rows):
            continue  # answered for another period (a race with a newer choice)
        for line in body.get("series") or []:
            column = str(line.get("dim") or key) if line.get("dim") else key
            for row, value in zip(rows, line.get("points") or [], strict=False):
                row[column] = _scaled(key, value)
    return rows


def _totals(answers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, body in answers.items():
        lines = body.get("series") or []
        totals = [line.get("total") for line in lines if line.get("total") is not None]
        if key in ("searches", "queue_depth", "arr_errors"):  # split by dim: add the lines
            out[key] = sum(float(t) for t in totals) if totals else None
        else:
            out[key] = totals[0] if totals else None
    return out


def _n(count: Any, word: str) -> str:
    n = int(count or 0)
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def insight_row(item: dict[str, Any], detail: str, badge: str, color: str) -> InsightRow:
    series = item.get("series_id")
    href = f"/content/series?id={series}" if series else f"/content/movie?id={item.get('movie_id')}"
    return InsightRow(
        title=str(item.get("title") or "(untitled)"),
        href=href,
        connector=str(item.get("connector") or ""),
        detail=detail,
        badge=badge,
        color=color,
    )


class AnalyticsState(AuthState):
    range: str = "7d"
    custom_from: str = ""
    custom_to: str = ""
    connector: str = "all"
    connectors: list[Choice] = []
    loading: bool = False
    note: str = ""
    period_text: str = ""
    cards: list[Card] = []
    rows: list[dict[str, Any]] = []
    comparison: list[CompareRow] = []
    most_searched: list[InsightRow] = []
    hardest: list[InsightRow] = []
    quality: list[QualityRow] = []
    quality_note: str = ""
    # The export dialog.
    export_open: bool = False
    export_from: str = ""
    export_to: str = ""
    export_bucket: str = "day"
    export_metrics: list[MetricChoice] = []
    export_error: str = ""
    exporting: bool = False

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"range": self.range}
        if self.range == "custom":
            params["from"] = self.custom_from
            if self.custom_to:
                params["to"] = self.custom_to
        if self.connector != "all":
            params["connector_id"] = self.connector
        return params

    async def _fetch(self) -> None:
        session = self._session()
        params = self._params()

        async def series(metric: str, group: str) -> Any:
            body, _ = await api.call(
                "GET",
                "/analytics/timeseries",
                session=session,
                params={**params, "metric": metric, "group": group},
            )
            return body

        general = {k: v for k, v in params.items() if k != "connector_id"}
        results = await asyncio.gather(
            *(series(metric, group) for _key, metric, group in SERIES),
            api.call("GET", "/analytics/comparison", session=session, params=general),
            api.call("GET", "/analytics/insights", session=session, params=params),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, api.Unauthorized):
                raise result
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures and len(failures) == len(results):
            raise failures[0]
        self.note = next((r.message for r in failures if isinstance(r, api.GatewayError)), "")
        answers = {
            key: body
            for (key, _m, _g), body in zip(SERIES, results[: len(SERIES)], strict=True)
            if isinstance(body, dict)
        }
        self.rows = chart_rows(answers)
        first = next(iter(answers.values()), {})
        if first:
            start = datetime.fromisoformat(str(first["buckets"][0]))
            end = datetime.fromisoformat(str(first["end"]))
            hourly = "hourly" if first.get("bucket") == "hour" else "daily"
            self.period_text = (
                f"{start:%d %b %Y %H:%M} to {end.astimezone(start.tzinfo):%d %b %Y %H:%M}"
                f" · {hourly} buckets · {first.get('timezone')}"
            )
        t = _totals(answers)
        self.cards = [
            Card(label="Searches", value=_count(t.get("searches")), hint="commands sent"),
            Card(label="Items found", value=_count(t.get("items_found")), hint="releases grabbed"),
            Card(
                label="Success rate",
                value=_percent(t.get("success_rate")),
                hint="found / completed",
            ),
            Card(
                label="Gaps closed",
                value=_count(t.get("gaps_closed")),
                hint=f"{_count(t.get('gaps_new'))} new",
            ),
            Card(
                label="Upgrades closed",
                value=_count(t.get("upgrades_closed")),
                hint=f"{_count(t.get('upgrades_new'))} new",
            ),
            Card(
                label="Response p95",
                value=_ms(t.get("response_p95")),
                hint=f"p50 {_ms(t.get('response_p50'))}",
            ),
            Card(
                label="Request errors",
                value=_count(t.get("arr_errors")),
                hint="network, auth, 429, 5xx",
            ),
            Card(
                label="Completion",
                value=_percent(t.get("completion")),
                hint="with a file / monitored",
            ),
        ]
        comparison = results[len(SERIES)]
        if isinstance(comparison, tuple) and isinstance(comparison[0], dict):
            self.comparison = [
                CompareRow(
                    connector_id=int(c["connector_id"]),
                    name=str(c["connector"]),
                    type=str(c.get("type") or "deleted"),
                    searches=_count(c["searches"]),
                    found=_count(c["items_found"]),
                    success=_percent(c["success_rate"]),
                    p50=_ms(c["response_p50_ms"]),
                    p95=_ms(c["response_p95_ms"]),
                    errors=_count(c["errors"]),
                    error_rate=_percent(c["error_rate"]),
                    closed=_count(c["gaps_closed"] + c["upgrades_closed"]),
                    queue="—" if c["queue_depth"] is None else _count(c["queue_depth"]),
                    completion=_percent(c["completion"]),
                )
                for c in comparison[0].get("connectors") or []
            ]
            self.connectors = [Choice(value="all", label="All connectors")] + [
                Choice(value=str(c.connector_id), label=c.name)
                for c in self.comparison
                if c.type != "deleted"
            ]
        insights = results[len(SERIES) + 1]
        if isinstance(insights, tuple) and isinstance(insights[0], dict):
            body = insights[0]
            self.most_searched = [
                insight_row(
                    i,
                    f"{_n(i.get('searches'), 'search').replace('searchs', 'searches')}"
                    f" · {i.get('found')} found",
                    str(i.get("state") or ""),
                    "green" if i.get("found") else "gray",
                )
                for i in body.get("most_searched") or []
            ]
            self.hardest = [
                insight_row(
                    i,
                    f"{_n(i.get('attempts'), 'attempt')} without a find",
                    str(i.get("state") or ""),
                    "red" if i.get("state") == "exhausted" else "orange",
                )
                for i in body.get("hardest_to_find") or []
            ]
            files = int(body.get("files") or 0)
            missing = int(body.get("missing") or 0)
            total = files + missing
            rows = [(str(q["quality"]), int(q["items"])) for q in body.get("quality") or []]
            if missing:
                rows.append(("Missing", missing))
            self.quality = [
                QualityRow(
                    name=name,
                    amount=f"{n:,}",
                    share=f"{n / total * 100:.1f}%" if total else "",
                    width=f"{n / total * 100:.1f}%" if total else "0%",
                )
                for name, n in rows
            ]
            self.quality_note = "" if rows else "No files in the library mirror yet."

    async def _refresh(self):
        self.loading = True
        yield
        try:
            await self._fetch()
        except api.Unauthorized:
            self._forget()
            self.loading = False
            yield self._login_redirect()
            return
        except api.GatewayError as exc:
            self.note = exc.message
        self.loading = False

    @rx.event
    async def load(self):
        if not self._authed():
            yield self._login_redirect()
            return
        self.export_open = False
        async for update in self._refresh():
            yield update

    @rx.event
    async def set_range(self, value: str | list[str]):
        self.range = value if isinstance(value, str) else (value[0] if value else "7d")
        if self.range == "custom" and not self.custom_from:
            today = date.today()
            self.custom_from = today.replace(day=1).isoformat()
            self.custom_to = today.isoformat()
        async for update in self._refresh():
            yield update

    @rx.event
    async def set_connector(self, value: str):
        self.connector = value
        async for update in self._refresh():
            yield update

    @rx.event
    def set_custom_from(self, value: str) -> None:
        self.custom_from = value

    @rx.event
    def set_custom_to(self, value: str) -> None:
        self.custom_to = value

    @rx.event
    async def apply_custom(self):
        async for update in self._refresh():
            yield update

    # --- export ----------------------------------------------------------------------

    @rx.event
    async def open_export(self):
        today = date.today()
        self.export_to = self.export_to or today.isoformat()
        self.export_from = self.export_from or today.replace(day=1).isoformat()
        self.export_error = ""
        if not self.export_metrics:
            try:
                body = await self._guarded("GET", "/analytics/metrics")
            except api.Unauthorized:
                return self._login_redirect()
            except api.GatewayError as exc:
                self.export_error = exc.message
                body = []
            self.export_metrics = [
                MetricChoice(name=str(m["name"]), label=str(m["label"]), checked=True)
                for m in api.items_of(body)
            ]
        self.export_open = True
        return None

    @rx.event
    def set_export_open(self, value: bool) -> None:
        self.export_open = value

    @rx.event
    def set_export_from(self, value: str) -> None:
        self.export_from = value

    @rx.event
    def set_export_to(self, value: str) -> None:
        self.export_to = value

    @rx.event
    def set_export_bucket(self, value: str) -> None:
        self.export_bucket = value

    @rx.event
    def toggle_metric(self, name: str, checked: bool) -> None:
        self.export_metrics = [
            MetricChoice(
                name=m.name, label=m.label, checked=checked if m.name == name else m.checked
            )
            for m in self.export_metrics
        ]

    @rx.event
    def select_metrics(self, checked: bool) -> None:
        self.export_metrics = [
            MetricChoice(name=m.name, label=m.label, checked=checked) for m in self.export_metrics
        ]

    @rx.event
    async def download(self):
        chosen = [m.name for m in self.export_metrics if m.checked]
        if not chosen:
            self.export_error = "Choose at least one metric."
            return None
        if not self.export_from or not self.export_to:
            self.export_error = "Choose the first and the last day."
            return None
        if self.export_to < self.export_from:
            self.export_error = "The last day is before the first."
            return None
        params: dict[str, Any] = {
            "from": self.export_from,
            "to": self.export_to,
            "bucket": self.export_bucket,
            "metrics": ",".join(chosen),
        }
        if self.connector != "all":
            params["connector_id"] = self.connector
        self.exporting = True
        try:
            url = await downloads.prepare(self._session(), "/analytics/export.csv", params)
        except api.Unauthorized:
            self.exporting = False
            self._forget()
            return self._login_redirect()
        except api.GatewayError as exc:
            self.exporting = False
            self.export_error = exc.message
            return None
        self.exporting = False
        self.export_error = ""
        self.export_open = False
        name = f"comradarr-analytics-{self.export_from}_{self.export_to}.csv"
        return [rx.download(url=url, filename=name), rx.toast.success("Export started")]


# ---------- components ----------


def stat(c: Card) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(c.label, size="1", color=rx.color("gray", 11), weight="medium"),
            rx.text(c.value, size="6", weight="bold", class_name="stat-value"),
            rx.text(c.hint, size="1", color=rx.color("gray", 10)),
            spacing="1",
        ),
        class_name="stat-card",
    )


def _axes(unit: str = "") -> list[rx.Component]:
    return [
        rx.recharts.cartesian_grid(stroke_dasharray="3 3", stroke=rx.color("gray", 5)),
        rx.recharts.x_axis(
            data_key="t", tick={"fontSize": 11}, stroke=rx.color("gray", 9), min_tick_gap=24
        ),
        rx.recharts.y_axis(tick={"fontSize": 11}, stroke=rx.color("gray", 9), width=48, unit=unit),
        rx.recharts.graphing_tooltip(
            content_style={
                "background": rx.color("gray", 2),
                "border": f"1px solid {rx.color('gray', 6)}",
                "borderRadius": "8px",
            },
            label_style={"color": rx.color("gray", 12)},
        ),
        rx.recharts.legend(icon_size=10, wrapper_style={"fontSize": "12px"}),
    ]


def chart_card(title: str, chart: rx.Component, chart_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="3"),
            rx.box(chart, width="100%", height=f"{CHART_HEIGHT}px"),
            spacing="2",
            width="100%",
        ),
        width="100%",
        min_width="0",
        id=chart_id,
        class_name="analytics-chart",
    )


def bars(title: str, keys: list[tuple[str, str]], chart_id: str, *, stacked: bool) -> rx.Component:
    return chart_card(
        title,
        rx.recharts.bar_chart(
            *[
                rx.recharts.bar(
                    data_key=key,
                    name=label,
                    fill=rx.color(PALETTE[i % len(PALETTE)], 9),
                    stack_id="a" if stacked else None,
                    is_animation_active=False,
                )
                for i, (key, label) in enumerate(keys)
            ],
            *_axes(),
            data=AnalyticsState.rows,
            width="100%",
            height=CHART_HEIGHT,
        ),
        chart_id,
    )


def lines(title: str, keys: list[tuple[str, str]], chart_id: str, unit: str = "") -> rx.Component:
    return chart_card(
        title,
        rx.recharts.line_chart(
            *[
                rx.recharts.line(
                    data_key=key,
                    name=label,
                    stroke=rx.color(PALETTE[i % len(PALETTE)], 9),
                    dot={"r": 1.5},  # a lone measured bucket still shows
                    stroke_width=2,
                    connect_nulls=True,
                    is_animation_active=False,
                    type_="monotone",
                )
                for i, (key, label) in enumerate(keys)
            ],
            *_axes(unit),
            data=AnalyticsState.rows,
            width="100%",
            height=CHART_HEIGHT,
        ),
        chart_id,
    )


def areas(title: str, keys: list[tuple[str, str]], chart_id: str) -> rx.Component:
    return chart_card(
        title,
        rx.recharts.area_chart(
            *[
                rx.recharts.area(
                    data_key=key,
                    name=label,
                    stroke=rx.color(PALETTE[i % len(PALETTE)], 9),
                    fill=rx.color(PALETTE[i % len(PALETTE)], 7),
                    stack_id="a",
                    is_animation_active=False,
                    type_="monotone",
                )
                for i, (key, label) in enumerate(keys)
            ],
            *_axes(),
            data=AnalyticsState.rows,
            width="100%",
            height=CHART_HEIGHT,
        ),
        chart_id,
    )


def controls() -> rx.Component:
    s = AnalyticsState
    return rx.flex(
        rx.segmented_control.root(
            *[rx.segmented_control.item(label, value=value) for value, label in RANGES],
            value=s.range,
            on_change=s.set_range,
            id="period-picker",
            size=rx.breakpoints(initial="1", sm="2"),  # five items fit a phone's row
        ),
        rx.select.root(
            rx.select.trigger(placeholder="All connectors", id="connector-filter"),
            rx.select.content(
                rx.foreach(s.connectors, lambda c: rx.select.item(c.label, value=c.value))
            ),
            value=s.connector,
            on_change=s.set_connector,
        ),
        rx.cond(
            s.range == "custom",
            rx.flex(
                rx.input(
                    type="date",
                    value=s.custom_from,
                    on_change=s.set_custom_from,
                    id="custom-from",
                    aria_label="From",
                ),
                rx.text("to", size="2", color=rx.color("gray", 10)),
                rx.input(
                    type="date",
                    value=s.custom_to,
                    on_change=s.set_custom_to,
                    id="custom-to",
                    aria_label="To",
                ),
                rx.button("Apply", on_click=s.apply_custom, variant="soft", id="custom-apply"),
                gap="8px",
                align="center",
                wrap="wrap",
            ),
        ),
        rx.cond(s.loading, rx.spinner(size="2")),
        gap="12px",
        align="center",
        wrap="wrap",
        width="100%",
    )


def comparison_table() -> rx.Component:
    s = AnalyticsState
    headers = [
        ("Connector", None),
        ("Searches", None),
        ("Found", None),
        ("Success", None),
        ("p50", ["none", "none", "table-cell"]),
        ("p95", None),
        ("Errors", ["none", "table-cell"]),
        ("Error rate", None),
        ("Closed", ["none", "table-cell"]),
        ("Queue", ["none", "none", "table-cell"]),
        ("Completion", ["none", "table-cell"]),
    ]

    def row(c: CompareRow) -> rx.Component:
        cells = [
            rx.vstack(
                rx.text(c.name, weight="medium", size="2"),
                rx.text(c.type, size="1", color=rx.color("gray", 10), transform="capitalize"),
                spacing="0",
            ),
            c.searches,
            c.found,
            c.success,
            c.p50,
            c.p95,
            c.errors,
            c.error_rate,
            c.closed,
            c.queue,
            c.completion,
        ]
        return rx.table.row(
            *[
                rx.table.cell(cell, display=display) if display else rx.table.cell(cell)
                for cell, (_h, display) in zip(cells, headers, strict=True)
            ],
            class_name="comparison-row",
        )

    return rx.cond(
        s.comparison.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h, display=display)
                            if display
                            else rx.table.column_header_cell(h)
                            for h, display in headers
                        ]
                    )
                ),
                rx.table.body(rx.foreach(s.comparison, row)),
                width="100%",
                size="1",
                variant="surface",
                id="comparison-table",
            ),
            width="100%",
            overflow_x="auto",
        ),
        empty("No connectors yet: add one to compare them here.", "plug"),
    )


def insight_list(title: str, items: rx.Var, list_id: str, none: str) -> rx.Component:
    def line(i: InsightRow) -> rx.Component:
        return rx.hstack(
            rx.vstack(
                rx.link(i.title, href=i.href, size="2", weight="medium", trim="both"),
                rx.text(i.connector + " · " + i.detail, size="1", color=rx.color("gray", 10)),
                spacing="0",
                min_width="0",
            ),
            rx.spacer(),
            rx.badge(i.badge, color_scheme=i.color, variant="soft"),
            align="center",
            width="100%",
            class_name="insight-row",
        )

    return rx.card(
        rx.vstack(
            rx.heading(title, size="3"),
            rx.cond(
                items.length() > 0,
                rx.vstack(rx.foreach(items, line), spacing="2", width="100%"),
                rx.text(none, size="2", color=rx.color("gray", 10)),
            ),
            width="100%",
            spacing="3",
        ),
        width="100%",
        id=list_id,
    )


def quality_card() -> rx.Component:
    s = AnalyticsState

    def line(q: QualityRow) -> rx.Component:
        return rx.vstack(
            rx.hstack(
                rx.text(q.name, size="2", weight="medium"),
                rx.spacer(),
                rx.text(q.amount + " · " + q.share, size="1", color=rx.color("gray", 10)),
                width="100%",
            ),
            rx.box(
                rx.box(
                    height="6px",
                    width=q.width,
                    background=rx.color("accent", 9),
                    border_radius="3px",
                ),
                width="100%",
                background=rx.color("gray", 4),
                border_radius="3px",
            ),
            spacing="1",
            width="100%",
            class_name="quality-row",
        )

    return rx.card(
        rx.vstack(
            rx.heading("Library by quality", size="3"),
            rx.cond(
                s.quality.length() > 0,
                rx.vstack(rx.foreach(s.quality, line), spacing="3", width="100%"),
                rx.text(s.quality_note, size="2", color=rx.color("gray", 10)),
            ),
            width="100%",
            spacing="3",
        ),
        width="100%",
        id="quality-distribution",
    )


def export_dialog() -> rx.Component:
    s = AnalyticsState
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(
                rx.icon("download", size=16), "Export CSV", on_click=s.open_export, id="export-open"
            )
        ),
        rx.dialog.content(
            rx.dialog.title("Export CSV"),
            rx.dialog.description(
                "One row per time bucket and connector, a column per metric; times in ISO 8601"
                " with your time zone's offset. Hourly rows exist for the retention period"
                " (Settings → analytics).",
                size="2",
            ),
            rx.vstack(
                rx.flex(
                    rx.vstack(
                        rx.text("First day", size="2", weight="medium"),
                        rx.input(
                            type="date",
                            value=s.export_from,
                            on_change=s.set_export_from,
                            id="export-from",
                        ),
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.text("Last day", size="2", weight="medium"),
                        rx.input(
                            type="date",
                            value=s.export_to,
                            on_change=s.set_export_to,
                            id="export-to",
                        ),
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.text("Rows per", size="2", weight="medium"),
                        rx.select.root(
                            rx.select.trigger(id="export-bucket"),
                            rx.select.content(
                                rx.select.item("Day", value="day"),
                                rx.select.item("Hour", value="hour"),
                            ),
                            value=s.export_bucket,
                            on_change=s.set_export_bucket,
                        ),
                        spacing="1",
                    ),
                    gap="12px",
                    wrap="wrap",
                ),
                rx.hstack(
                    rx.text("Metrics", size="2", weight="medium"),
                    rx.spacer(),
                    rx.button("All", size="1", variant="ghost", on_click=s.select_metrics(True)),
                    rx.button("None", size="1", variant="ghost", on_click=s.select_metrics(False)),
                    width="100%",
                    align="center",
                ),
                rx.scroll_area(
                    rx.grid(
                        rx.foreach(
                            s.export_metrics,
                            lambda m: rx.checkbox(
                                m.label,
                                checked=m.checked,
                                on_change=lambda v: s.toggle_metric(m.name, v),
                                size="2",
                                class_name="export-metric",
                            ),
                        ),
                        columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="2",
                        width="100%",
                    ),
                    max_height="220px",
                    type="auto",
                ),
                rx.text(
                    rx.cond(
                        s.connector == "all",
                        "Every connector.",
                        "Only the connector chosen on the page.",
                    ),
                    size="1",
                    color=rx.color("gray", 10),
                ),
                rx.cond(
                    s.export_error != "",
                    rx.callout(
                        s.export_error,
                        icon="triangle-alert",
                        color_scheme="red",
                        role="alert",
                        width="100%",
                    ),
                ),
                rx.flex(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.button(
                        rx.icon("download", size=16),
                        "Download",
                        on_click=s.download,
                        loading=s.exporting,
                        id="export-download",
                    ),
                    gap="8px",
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                margin_top="12px",
                width="100%",
            ),
            max_width="560px",
        ),
        open=s.export_open,
        on_open_change=s.set_export_open,
    )


def analytics() -> rx.Component:
    s = AnalyticsState
    charts = rx.grid(
        bars("Searches by command", [(c, c) for c in COMMANDS], "chart-searches", stacked=True),
        bars(
            "Items searched and found",
            [("items_searched", "Searched"), ("items_found", "Found")],
            "chart-found",
            stacked=False,
        ),
        lines("Success rate", [("success_rate", "Found / completed")], "chart-success", unit="%"),
        bars(
            "Gaps and upgrades",
            [
                ("gaps_new", "New gaps"),
                ("gaps_closed", "Closed gaps"),
                ("upgrades_new", "New upgrades"),
                ("upgrades_closed", "Closed upgrades"),
            ],
            "chart-discovery",
            stacked=False,
        ),
        areas("Queue depth", [(st, st) for st in STATES], "chart-queue"),
        lines(
            "Response times",
            [("response_p50", "p50"), ("response_p95", "p95")],
            "chart-latency",
            unit=" ms",
        ),
        bars(
            "Request errors",
            [(c, c.replace("_", " ")) for c in CATEGORIES],
            "chart-errors",
            stacked=True,
        ),
        lines("Library completion", [("completion", "With a file")], "chart-completion", unit="%"),
        columns=rx.breakpoints(initial="1", md="2"),
        gap="16px",
        width="100%",
    )
    return page(
        "Analytics",
        controls(),
        rx.text(s.period_text, size="1", color=rx.color("gray", 10), id="period-text"),
        rx.cond(
            s.note != "",
            rx.callout(s.note, icon="triangle-alert", color_scheme="orange", width="100%"),
        ),
        rx.grid(
            rx.foreach(s.cards, stat),
            columns=rx.breakpoints(initial="2", sm="4"),
            gap="12px",
            width="100%",
            id="analytics-cards",
        ),
        charts,
        rx.heading("Connectors side by side", size="4"),
        comparison_table(),
        rx.heading("Content", size="4"),
        rx.grid(
            insight_list(
                "Most searched",
                s.most_searched,
                "most-searched",
                "Nothing searched in this period.",
            ),
            insight_list(
                "Hardest to find",
                s.hardest,
                "hardest-to-find",
                "Nothing has failed to be found yet.",
            ),
            quality_card(),
            columns=rx.breakpoints(initial="1", md="2", lg="3"),
            gap="16px",
            width="100%",
        ),
        actions=export_dialog(),
    )
