"""Content browser: server-side pages of the mirror (keyset cursor), filters, debounced title
search, multi-select bulk actions, series and movie detail."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import reflex as rx

from . import api
from .layout import empty, page
from .state import AuthState, fmt_time

PAGE_SIZE = 50
KINDS = {"series": "Series", "movie": "Movies", "episode": "Episodes"}
# What an episode search looks at: its series' titles (indexed) or the episodes' own (a scan).
MATCHES = {"series": "Series titles", "episode": "Episode titles"}
STATUSES = {
    "all": "All",
    "missing": "Missing",
    "upgrade": "Upgrade",
    "queued": "Queued",
    "searching": "Searching",
    "exhausted": "Exhausted",
}
# The orders the gateway offers for each kind (GET /content ?sort=, '-' for descending).
_SHOW_SORTS = {
    "title": "Title A-Z",
    "-title": "Title Z-A",
    "-added": "Recently added",
    "added": "First added",
    "-year": "Newest",
    "year": "Oldest",
}
SORTS = {
    "series": _SHOW_SORTS,
    "movie": _SHOW_SORTS,
    "episode": {
        "title": "Series A-Z",
        "-title": "Series Z-A",
        "-air_date": "Aired latest",
        "air_date": "Aired first",
    },
}
WANTED_COLORS = {"missing": "red", "upgrade": "amber"}
STATE_COLORS = {
    "pending": "blue",
    "queued": "blue",
    "searching": "violet",
    "cooldown": "gray",
    "exhausted": "orange",
}
OUTCOME_ICONS = {
    "found": ("circle-check", "green"),
    "success": ("circle-check", "green"),
    "completed": ("circle-check", "green"),
    "not_found": ("circle-minus", "gray"),
    "error": ("circle-x", "red"),
    "failed": ("circle-x", "red"),
    "timeout": ("clock-alert", "orange"),
}


@dataclass
class Opt:
    value: str = ""
    label: str = ""


@dataclass
class ContentRow:
    id: int = 0
    kind: str = ""
    title: str = ""
    sub: str = ""
    conn: str = ""
    conn_id: int = 0
    quality: str = ""
    wanted: str = ""
    wanted_color: str = "gray"
    state: str = ""
    state_color: str = "gray"
    prio: str = ""
    href: str = ""


@dataclass
class EpisodeRow:
    """A season header (is_season) or one episode of a series."""

    id: int = 0
    is_season: bool = False
    label: str = ""
    title: str = ""
    air: str = ""
    quality: str = ""
    wanted: str = ""
    wanted_color: str = "gray"
    state: str = ""
    state_color: str = "gray"
    history: list[str] | None = None
    last_outcome: str = ""
    outcome_icon: str = "circle-dot"
    outcome_color: str = "gray"


def outcome_icon(outcome: str) -> tuple[str, str]:
    return OUTCOME_ICONS.get(outcome, ("circle-dot", "blue"))


def _reg_state(reg: dict[str, Any] | None) -> tuple[str, str, str]:
    if not isinstance(reg, dict):
        return "", "gray", ""
    state = str(reg.get("state") or "")
    up = reg.get("user_priority")
    prio = f"{reg.get('priority', 0):.0f}" + (f" ({up:+d})" if isinstance(up, int) else "")
    return state, STATE_COLORS.get(state, "gray"), prio


def content_row(item: dict[str, Any], names: dict[int, str]) -> ContentRow:
    kind = str(item.get("type") or "")
    state, state_color, prio = _reg_state(item.get("registry"))
    wanted = str(item.get("wanted") or "")
    cid = int(item.get("connector_id") or 0)
    if kind == "series":
        files, total = item.get("episode_file_count") or 0, item.get("episode_count") or 0
        missing = item.get("missing_count") or 0
        sub = f"{item.get('year') or '—'} · {files}/{total} episodes"
        if missing:
            sub += f" · {missing} missing"
        href = f"/content/series?id={item.get('id')}"
        quality = str(item.get("arr_status") or "")
    elif kind == "movie":
        sub = str(item.get("year") or "—")
        href = f"/content/movie?id={item.get('id')}"
        quality = str(item.get("quality") or ("no file" if not item.get("has_file") else ""))
    else:
        s, e = item.get("season_number"), item.get("episode_number")
        code = f"S{s or 0:02d}E{e or 0:02d}" if e is not None else f"S{s or 0:02d}"
        sub = f"{item.get('series_title') or ''} · {code} · {fmt_time(item.get('air_date'))[:10]}"
        href = f"/content/series?id={item.get('series_id')}"
        quality = str(item.get("quality") or ("no file" if not item.get("has_file") else ""))
    return ContentRow(
        id=int(item.get("id") or 0),
        kind=kind,
        title=str(item.get("title") or "(untitled)"),
        sub=sub,
        conn=names.get(cid, f"#{cid}"),
        conn_id=cid,
        quality=quality,
        wanted=wanted,
        wanted_color=WANTED_COLORS.get(wanted, "gray"),
        state=state,
        state_color=state_color,
        prio=prio,
        href=href,
    )


class BulkMixin(rx.State, mixin=True):
    """Multi-select and the bulk bar (POST /content/bulk)."""

    selected: list[int] = []
    bulk_priority: str = "50"
    bulk_msg: str = ""
    bulk_busy: bool = False

    def _bulk_target(self) -> str:
        return "episode"

    async def _after_bulk(self) -> None:
        return None

    @rx.event
    def toggle(self, item_id: int, on: bool) -> None:
        if on and item_id not in self.selected:
            self.selected = [*self.selected, item_id]
        elif not on:
            self.selected = [i for i in self.selected if i != item_id]

    @rx.event
    def clear_selection(self) -> None:
        self.selected = []
        self.bulk_msg = ""

    @rx.event
    def set_bulk_priority(self, v: str) -> None:
        self.bulk_priority = v

    async def _do_bulk(self, action: str, ids: list[int], target: str = "") -> str:
        """Run one bulk action; returns the message to show (raises Unauthorized)."""
        body: dict[str, Any] = {
            "action": action,
            "target": target or self._bulk_target(),
            "ids": ids,
        }
        if action == "priority":
            text = self.bulk_priority.strip()
            try:
                body["priority"] = None if text in ("", "0") else max(-100, min(100, int(text)))
            except ValueError:
                return "Priority is a whole number from -100 to 100."
        try:
            res = await self._guarded("POST", "/content/bulk", json=body)
        except api.Unauthorized:
            raise
        except api.GatewayError as exc:
            return f"Not done: {exc.message}"
        res = res if isinstance(res, dict) else {}
        verb = {
            "queue": "queued",
            "priority": "re-prioritized",
            "exhaust": "marked exhausted",
            "reset": "reset",
        }
        msg = f"{res.get('changed', 0)} {verb.get(action, action)}"
        if res.get("skipped_in_flight"):
            msg += f", {res['skipped_in_flight']} skipped (being searched)"
        self.selected = []
        await self._after_bulk()
        return msg + "."

    @rx.event
    async def bulk(self, action: str):
        if not self.selected:
            return
        self.bulk_busy = True
        yield
        try:
            self.bulk_msg = await self._do_bulk(action, list(self.selected))
        except api.Unauthorized:
            yield self._login_redirect()
            return
        finally:
            self.bulk_busy = False
        yield rx.toast.info(self.bulk_msg)


class ContentState(BulkMixin, AuthState):
    kind: str = "series"
    status: str = "all"
    connector: str = "all"
    q: str = ""
    match: str = "series"
    sort: str = "title"
    page_no: int = 1
    total: int = 0
    total_capped: bool = False
    next_cursor: str = ""
    rows: list[ContentRow] = []
    connector_opts: list[Opt] = []
    note: str = ""
    loading: bool = False
    _cursors: list[str] = []
    _names: dict[int, str] = {}

    def _bulk_target(self) -> str:
        return self.kind

    async def _after_bulk(self) -> None:
        await self._fetch()

    @rx.var
    def sort_opts(self) -> list[Opt]:
        return [Opt(value=k, label=v) for k, v in SORTS[self.kind].items()]

    @rx.var
    def range_text(self) -> str:
        if not self.rows:
            return ""
        first = (self.page_no - 1) * PAGE_SIZE + 1
        last = first + len(self.rows) - 1
        of = f"{self.total:,}" + ("+" if self.total_capped else "")
        return f"{first:,}-{last:,} of {of}"

    @rx.var
    def all_selected(self) -> bool:
        return bool(self.rows) and all(r.id in self.selected for r in self.rows)

    async def _fetch(self) -> None:
        params: dict[str, Any] = {"type": self.kind, "page_size": PAGE_SIZE, "sort": self.sort}
        if self.status != "all":
            params["status"] = self.status
        if self.connector != "all":
            params["connector_id"] = self.connector
        if self.q.strip():
            params["q"] = self.q.strip()[:100]
            if self.kind == "episode" and self.match == "episode":
                params["match"] = "episode"
        cursor = self._cursors[self.page_no - 1] if self.page_no <= len(self._cursors) else ""
        if cursor:
            params["cursor"] = cursor
            params["include_total"] = "false"
        self.loading = True
        try:
            body = await self._guarded("GET", "/content", params=params)
        except api.NotAvailable:
            self.rows, self.note = [], "The content browser is not available yet."
            return
        except api.GatewayError as exc:
            if isinstance(exc, api.Unauthorized):
                raise
            self.rows, self.note = [], exc.message
            return
        finally:
            self.loading = False
        body = body if isinstance(body, dict) else {}
        if not cursor:
            self.total = int(body.get("total") or 0)
            self.total_capped = bool(body.get("total_capped"))
        self.next_cursor = str(body.get("next_cursor") or "")
        self.rows = [content_row(i, self._names) for i in api.items_of(body)]
        if not self.rows:
            self.note = (
                "Nothing matches these filters."
                if self.q or self.status != "all" or self.connector != "all"
                else "Nothing mirrored yet: add a connector and let a sweep run."
            )
        else:
            self.note = ""

    async def _restart(self):
        self._cursors = [""]
        self.page_no = 1
        self.selected = []
        self.bulk_msg = ""
        try:
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        return None

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        qp = self.router.url.query_parameters
        if qp.get("type") in KINDS:
            self.kind = qp["type"]
        if qp.get("status") in STATUSES:
            self.status = qp["status"]
        if "q" in qp:
            self.q = qp["q"]
        self.match = "episode" if qp.get("match") == "episode" else "series"
        sort = qp.get("sort", "title")
        self.sort = sort if sort in SORTS[self.kind] else "title"
        connector = qp.get("connector", "all")
        self.connector = connector if connector.isdigit() or connector == "all" else "all"
        # The connector names and the first page at once (one round trip less).
        names, page = await asyncio.gather(
            self._guarded("GET", "/connectors"), self._restart(), return_exceptions=True
        )
        if isinstance(page, BaseException):
            raise page
        if isinstance(names, api.Unauthorized):
            return self._login_redirect()
        conns = [] if isinstance(names, BaseException) else api.items_of(names)
        self._names = {int(c.get("id", 0)): str(c.get("name", "")) for c in conns}
        self.connector_opts = [Opt(value="all", label="All connectors")] + [
            Opt(value=str(k), label=v) for k, v in self._names.items()
        ]
        self.rows = [
            ContentRow(**{**r.__dict__, "conn": self._names.get(r.conn_id, r.conn)})
            for r in self.rows
        ]
        return page

    def _url_script(self) -> rx.event.EventSpec:
        """Keep the filters in the address bar (a reload or a shared link shows the same)."""
        params = {"type": self.kind, "status": self.status}
        if self.sort != "title":
            params["sort"] = self.sort
        if self.connector != "all":
            params["connector"] = self.connector
        if self.q.strip():
            params["q"] = self.q.strip()[:100]
        if self.kind == "episode" and self.match == "episode":
            params["match"] = "episode"
        url = "/content?" + urlencode(params)
        return rx.call_script(f"window.history.replaceState(null, '', {json.dumps(url)})")

    async def _refilter(self):
        redirect = await self._restart()
        return redirect if redirect is not None else self._url_script()

    @rx.event
    async def set_kind(self, v: str):
        self.kind = v if v in KINDS else "series"
        if self.sort not in SORTS[self.kind]:
            self.sort = "title"
        return await self._refilter()

    @rx.event
    async def set_sort(self, v: str):
        self.sort = v if v in SORTS[self.kind] else "title"
        return await self._refilter()

    @rx.event
    async def sort_by_title(self):
        """The Title header: A-Z, then Z-A."""
        self.sort = "-title" if self.sort == "title" else "title"
        return await self._refilter()

    @rx.event
    async def set_status(self, v: str):
        self.status = v if v in STATUSES else "all"
        return await self._refilter()

    @rx.event
    async def set_connector(self, v: str):
        self.connector = v
        return await self._refilter()

    @rx.event
    async def set_match(self, v: str):
        self.match = v if v in MATCHES else "series"
        return await self._refilter()

    @rx.event
    async def set_q(self, v: str):
        self.q = v
        return await self._refilter()

    @rx.event
    async def next_page(self):
        if not self.next_cursor:
            return None
        self._cursors = [*self._cursors[: self.page_no], self.next_cursor]
        self.page_no += 1
        try:
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        return None

    @rx.event
    async def prev_page(self):
        if self.page_no <= 1:
            return None
        self.page_no -= 1
        try:
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        return None

    @rx.event
    def toggle_all(self, on: bool) -> None:
        ids = [r.id for r in self.rows]
        rest = [i for i in self.selected if i not in ids]
        self.selected = rest + ids if on else rest


def _file_text(has_file: Any, quality: Any, size: Any) -> str:
    if not has_file:
        return "no file"
    text = str(quality or "unknown quality")
    return f"{text} · {size / 1e9:.1f} GB" if isinstance(size, int | float) and size else text


def _history_lines(history: list[dict[str, Any]]) -> list[str]:
    lines = []
    for h in history:
        line = f"{fmt_time(h.get('started_at'))} · {h.get('search_type', '')} · {h.get('outcome')}"
        if h.get("error"):
            line += f" ({h['error']})"
        lines.append(line)
    return lines


def episode_row(e: dict[str, Any]) -> EpisodeRow:
    state, state_color, _ = _reg_state(e.get("registry"))
    wanted = str(e.get("wanted") or "")
    history = [h for h in e.get("history") or [] if isinstance(h, dict)]
    last = str(history[0].get("outcome") or "") if history else ""
    icon, color = outcome_icon(last)
    num = e.get("episode_number")
    return EpisodeRow(
        id=int(e.get("id") or 0),
        label=f"E{num:02d}" if isinstance(num, int) else "—",
        title=str(e.get("title") or ""),
        air=fmt_time(e.get("air_date"))[:10],
        quality=str(e.get("quality") or ("no file" if not e.get("has_file") else "—")),
        wanted=wanted,
        wanted_color=WANTED_COLORS.get(wanted, "gray"),
        state=state,
        state_color=state_color,
        history=_history_lines(history),
        last_outcome=last,
        outcome_icon=icon,
        outcome_color=color,
    )


class SeriesState(BulkMixin, AuthState):
    s_id: int = 0
    s_title: str = ""
    s_meta: str = ""
    s_counts: str = ""
    episodes: list[EpisodeRow] = []
    s_note: str = ""

    async def _after_bulk(self) -> None:
        await self._fetch()

    async def _fetch(self) -> None:
        try:
            s = await self._guarded("GET", f"/content/series/{self.s_id}")
        except api.GatewayError as exc:
            if isinstance(exc, api.Unauthorized):
                raise
            self.s_title, self.episodes, self.s_note = "Series", [], exc.message
            return
        s = s if isinstance(s, dict) else {}
        self.s_title = str(s.get("title") or "Series")
        bits = [str(s.get("year") or ""), str(s.get("status") or "")]
        bits.append("monitored" if s.get("monitored") else "not monitored")
        if s.get("tvdb_id"):
            bits.append(f"TVDB {s['tvdb_id']}")
        self.s_meta = " · ".join(b for b in bits if b)
        size = (s.get("size_on_disk") or 0) / 1e9
        self.s_counts = (
            f"{s.get('episode_file_count', 0)}/{s.get('episode_count', 0)} episodes on disk"
            f" · {size:.1f} GB · synced {fmt_time(s.get('synced_at'))}"
        )
        rows: list[EpisodeRow] = []
        for season in s.get("seasons") or []:
            n = season.get("season_number", 0)
            rows.append(
                EpisodeRow(
                    is_season=True,
                    label="Specials" if n == 0 else f"Season {n}",
                    title=f"{season.get('episode_file_count', 0)}/"
                    f"{season.get('episode_count', 0)} on disk",
                    history=[],
                )
            )
            rows.extend(episode_row(e) for e in season.get("episodes") or [])
        self.episodes = rows
        self.s_note = "" if rows else "No episodes mirrored."

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        raw = self.router.url.query_parameters.get("id", "")
        self.selected, self.bulk_msg = [], ""
        self.s_id = int(raw) if raw.isdigit() else 0
        try:
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        return None

    @rx.event
    async def series_act(self, action: str):
        """Queue, exhaust or reset every wanted episode of this series."""
        try:
            self.bulk_msg = await self._do_bulk(action, [self.s_id], target="series")
        except api.Unauthorized:
            return self._login_redirect()
        return rx.toast.info(self.bulk_msg)


class MovieState(BulkMixin, AuthState):
    m_id: int = 0
    m_title: str = ""
    m_facts: list[Opt] = []
    m_history: list[EpisodeRow] = []
    m_note: str = ""

    def _bulk_target(self) -> str:
        return "movie"

    async def _after_bulk(self) -> None:
        await self._fetch()

    async def _fetch(self) -> None:
        try:
            m = await self._guarded("GET", f"/content/movies/{self.m_id}")
        except api.GatewayError as exc:
            if isinstance(exc, api.Unauthorized):
                raise
            self.m_title, self.m_facts, self.m_note = "Movie", [], exc.message
            return
        m = m if isinstance(m, dict) else {}
        state, _, prio = _reg_state(m.get("registry"))
        self.m_title = f"{m.get('title') or 'Movie'}"
        size = m.get("file_size")
        facts = [
            ("Year", m.get("year") or "—"),
            ("Status", m.get("status") or "—"),
            ("Monitored", "yes" if m.get("monitored") else "no"),
            ("File", _file_text(m.get("has_file"), m.get("quality"), size)),
            ("Wanted", m.get("wanted") or "no"),
            ("Search state", f"{state} (priority {prio})" if state else "not in the queue"),
            ("TMDB / IMDb", f"{m.get('tmdb_id') or '—'} / {m.get('imdb_id') or '—'}"),
            ("Synced", fmt_time(m.get("synced_at"))),
        ]
        self.m_facts = [Opt(value=str(v), label=k) for k, v in facts]
        hist = []
        for h in m.get("history") or []:
            icon, color = outcome_icon(str(h.get("outcome") or ""))
            hist.append(
                EpisodeRow(
                    label=fmt_time(h.get("started_at")),
                    title=str(h.get("command_name") or ""),
                    state=str(h.get("search_type") or ""),
                    last_outcome=str(h.get("outcome") or "")
                    + (f" ({h['error']})" if h.get("error") else ""),
                    outcome_icon=icon,
                    outcome_color=color,
                    history=[],
                )
            )
        self.m_history = hist
        self.m_note = ""

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        raw = self.router.url.query_parameters.get("id", "")
        self.m_id = int(raw) if raw.isdigit() else 0
        self.selected, self.bulk_msg = [], ""
        try:
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        return None

    @rx.event
    async def act(self, action: str):
        try:
            self.bulk_msg = await self._do_bulk(action, [self.m_id])
        except api.Unauthorized:
            return self._login_redirect()
        return rx.toast.info(self.bulk_msg)


# ---------------------------------------------------------------- components


def select(value, on_change, options: dict[str, str], id_: str, **props) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id=id_, width="100%"),
        rx.select.content(*[rx.select.item(label, value=key) for key, label in options.items()]),
        value=value,
        on_change=on_change,
        **props,
    )


def bulk_bar(state) -> rx.Component:
    return rx.cond(
        state.selected.length() > 0,
        rx.flex(
            rx.text(
                state.selected.length().to_string() + " selected",
                weight="medium",
                id="bulk-count",
            ),
            rx.button(
                rx.icon("search", size=16),
                "Queue for search",
                on_click=state.bulk("queue"),
                loading=state.bulk_busy,
                id="bulk-queue",
            ),
            rx.hstack(
                rx.input(
                    value=state.bulk_priority,
                    on_change=state.set_bulk_priority,
                    type="number",
                    min=-100,
                    max=100,
                    width="80px",
                    aria_label="Priority",
                    id="bulk-priority",
                ),
                rx.button(
                    "Set priority",
                    variant="soft",
                    on_click=state.bulk("priority"),
                    id="bulk-set-priority",
                ),
                spacing="1",
            ),
            rx.button(
                "Mark exhausted",
                variant="soft",
                color_scheme="orange",
                on_click=state.bulk("exhaust"),
                id="bulk-exhaust",
            ),
            rx.button(
                "Clear state", variant="soft", color_scheme="gray", on_click=state.bulk("reset")
            ),
            rx.icon_button(
                rx.icon("x", size=16),
                variant="ghost",
                on_click=state.clear_selection,
                aria_label="Clear selection",
            ),
            wrap="wrap",
            gap="8px",
            align="center",
            padding="10px 12px",
            border_radius="10px",
            background=rx.color("accent", 3),
            border=f"1px solid {rx.color('accent', 6)}",
            width="100%",
            position="sticky",
            top=["56px", "56px", "8px"],
            z_index="5",
            id="bulk-bar",
        ),
        rx.cond(state.bulk_msg != "", rx.text(state.bulk_msg, size="2", id="bulk-msg")),
    )


def pill(text, color) -> rx.Component:
    return rx.cond(text != "", rx.badge(text, color_scheme=color, variant="soft", radius="full"))


def content_table_row(r: ContentRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.checkbox(
                checked=ContentState.selected.contains(r.id),
                on_change=lambda on: ContentState.toggle(r.id, on),
                aria_label="Select",
            ),
            width="36px",
        ),
        rx.table.cell(
            rx.vstack(
                rx.link(r.title, href=r.href, weight="medium", class_name="content-title"),
                rx.text(r.sub, size="1", color=rx.color("gray", 10)),
                spacing="0",
            ),
        ),
        rx.table.cell(r.conn, display=["none", "none", "table-cell"]),
        rx.table.cell(
            rx.text(r.quality, size="2", color=rx.color("gray", 11)),
            display=["none", "table-cell"],
        ),
        rx.table.cell(
            rx.flex(pill(r.wanted, r.wanted_color), pill(r.state, r.state_color), gap="4px")
        ),
        rx.table.cell(rx.text(r.prio, size="2"), display=["none", "none", "table-cell"]),
        class_name="content-row",
    )


def content() -> rx.Component:
    s = ContentState
    return page(
        "Content",
        rx.grid(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                placeholder="Search titles…",
                value=s.q,
                on_change=s.set_q,
                debounce_timeout=350,
                id="content-search",
                width="100%",
                grid_column=["1 / -1", "1 / -1", "auto"],
            ),
            select(s.kind, s.set_kind, KINDS, "filter-type"),
            rx.select.root(
                rx.select.trigger(id="filter-connector", width="100%"),
                rx.select.content(
                    rx.foreach(s.connector_opts, lambda o: rx.select.item(o.label, value=o.value))
                ),
                value=s.connector,
                on_change=s.set_connector,
            ),
            select(s.status, s.set_status, STATUSES, "filter-status"),
            rx.select.root(
                rx.select.trigger(id="content-sort", width="100%"),
                rx.select.content(
                    rx.foreach(s.sort_opts, lambda o: rx.select.item(o.label, value=o.value))
                ),
                value=s.sort,
                on_change=s.set_sort,
            ),
            columns=rx.breakpoints(initial="3", md="5"),
            grid_template_columns=["1fr 1fr", "1fr 1fr 1fr", "2fr 1fr 1fr 1fr 1fr"],
            gap="8px",
            width="100%",
        ),
        rx.cond(
            s.kind == "episode",
            rx.hstack(
                rx.text("Search in", size="1", color=rx.color("gray", 10)),
                select(s.match, s.set_match, MATCHES, "search-match", size="1"),
                align="center",
                spacing="2",
            ),
        ),
        bulk_bar(s),
        rx.cond(
            s.rows.length() > 0,
            rx.vstack(
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell(
                                    rx.checkbox(
                                        checked=s.all_selected,
                                        on_change=s.toggle_all,
                                        aria_label="Select page",
                                        id="select-page",
                                    )
                                ),
                                rx.table.column_header_cell(
                                    rx.button(
                                        "Title",
                                        rx.cond(
                                            s.sort == "-title",
                                            rx.icon("arrow-up-z-a", size=14),
                                            rx.icon("arrow-down-a-z", size=14),
                                        ),
                                        variant="ghost",
                                        size="1",
                                        on_click=s.sort_by_title,
                                        id="sort-title",
                                    )
                                ),
                                rx.table.column_header_cell(
                                    "Connector", display=["none", "none", "table-cell"]
                                ),
                                rx.table.column_header_cell(
                                    "Quality", display=["none", "table-cell"]
                                ),
                                rx.table.column_header_cell("Status"),
                                rx.table.column_header_cell(
                                    "Priority", display=["none", "none", "table-cell"]
                                ),
                            )
                        ),
                        rx.table.body(rx.foreach(s.rows, content_table_row)),
                        width="100%",
                        variant="surface",
                        size="1",
                        id="content-table",
                    ),
                    width="100%",
                    overflow_x="auto",
                    opacity=rx.cond(s.loading, "0.6", "1"),
                ),
                rx.flex(
                    rx.text(s.range_text, size="2", color=rx.color("gray", 11), id="range-text"),
                    rx.spacer(),
                    rx.button(
                        rx.icon("chevron-left", size=16),
                        "Previous",
                        variant="soft",
                        disabled=s.page_no <= 1,
                        on_click=s.prev_page,
                        id="prev-page",
                    ),
                    rx.button(
                        "Next",
                        rx.icon("chevron-right", size=16),
                        variant="soft",
                        disabled=s.next_cursor == "",
                        on_click=s.next_page,
                        id="next-page",
                    ),
                    align="center",
                    gap="8px",
                    width="100%",
                ),
                width="100%",
                spacing="3",
            ),
            rx.cond(s.loading, rx.center(rx.spinner(size="3"), padding="32px"), empty(s.note)),
        ),
    )


def episode_line(e: EpisodeRow, state) -> rx.Component:
    return rx.cond(
        e.is_season,
        rx.table.row(
            rx.table.cell(
                rx.hstack(
                    rx.text(e.label, weight="bold"),
                    rx.text(e.title, size="1", color=rx.color("gray", 10)),
                    align="baseline",
                ),
                col_span=6,
                background=rx.color("gray", 3),
            )
        ),
        rx.table.row(
            rx.table.cell(
                rx.checkbox(
                    checked=state.selected.contains(e.id),
                    on_change=lambda on: state.toggle(e.id, on),
                    aria_label="Select episode",
                ),
                width="36px",
            ),
            rx.table.cell(rx.text(e.label, font_family="monospace", size="2")),
            rx.table.cell(
                rx.vstack(
                    rx.text(e.title, size="2", weight="medium"),
                    rx.text(e.air, size="1", color=rx.color("gray", 10)),
                    spacing="0",
                )
            ),
            rx.table.cell(rx.text(e.quality, size="2"), display=["none", "table-cell"]),
            rx.table.cell(
                rx.flex(pill(e.wanted, e.wanted_color), pill(e.state, e.state_color), gap="4px")
            ),
            rx.table.cell(
                rx.cond(
                    e.last_outcome != "",
                    rx.hover_card.root(
                        rx.hover_card.trigger(
                            rx.hstack(
                                rx.icon(
                                    e.outcome_icon, size=16, color=rx.color(e.outcome_color, 9)
                                ),
                                rx.text(e.last_outcome, size="1"),
                                align="center",
                                spacing="1",
                                cursor="help",
                            )
                        ),
                        rx.hover_card.content(
                            rx.vstack(
                                rx.text("Search history", weight="bold", size="2"),
                                rx.foreach(e.history, lambda h: rx.text(h, size="1")),
                                spacing="1",
                            )
                        ),
                    ),
                    rx.text("—", size="1", color=rx.color("gray", 9)),
                ),
                display=["none", "none", "table-cell"],
            ),
        ),
    )


def back_link() -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon("arrow-left", size=16), rx.text("Content"), align="center", spacing="1"),
        href="/content",
        size="2",
    )


def series_detail() -> rx.Component:
    s = SeriesState
    return page(
        s.s_title,
        back_link(),
        rx.vstack(
            rx.text(s.s_meta, color=rx.color("gray", 11)),
            rx.text(s.s_counts, size="2", color=rx.color("gray", 10)),
            spacing="1",
        ),
        rx.flex(
            rx.button(
                rx.icon("search", size=16),
                "Search all wanted",
                on_click=s.series_act("queue"),
                id="series-queue",
            ),
            rx.button(
                "Mark exhausted",
                variant="soft",
                color_scheme="orange",
                on_click=s.series_act("exhaust"),
            ),
            rx.button(
                "Clear state", variant="soft", color_scheme="gray", on_click=s.series_act("reset")
            ),
            gap="8px",
            wrap="wrap",
            align="center",
        ),
        bulk_bar(s),
        rx.cond(
            s.episodes.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell(""),
                            rx.table.column_header_cell("#"),
                            rx.table.column_header_cell("Episode"),
                            rx.table.column_header_cell("Quality", display=["none", "table-cell"]),
                            rx.table.column_header_cell("Status"),
                            rx.table.column_header_cell(
                                "Last search", display=["none", "none", "table-cell"]
                            ),
                        )
                    ),
                    rx.table.body(rx.foreach(s.episodes, lambda e: episode_line(e, s))),
                    width="100%",
                    size="1",
                    variant="surface",
                    id="episode-table",
                ),
                width="100%",
                overflow_x="auto",
            ),
            empty(s.s_note),
        ),
    )


def movie_detail() -> rx.Component:
    m = MovieState
    return page(
        m.m_title,
        back_link(),
        rx.card(
            rx.data_list.root(
                rx.foreach(
                    m.m_facts,
                    lambda f: rx.data_list.item(
                        rx.data_list.label(f.label), rx.data_list.value(f.value)
                    ),
                ),
                orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
            ),
            width="100%",
        ),
        rx.flex(
            rx.button("Queue for search", on_click=m.act("queue"), id="movie-queue"),
            rx.button(
                "Mark exhausted", variant="soft", color_scheme="orange", on_click=m.act("exhaust")
            ),
            rx.button("Clear state", variant="soft", color_scheme="gray", on_click=m.act("reset")),
            rx.text(m.bulk_msg, size="2"),
            gap="8px",
            wrap="wrap",
            align="center",
        ),
        rx.heading("Search history", size="4"),
        rx.cond(
            m.m_history.length() > 0,
            rx.vstack(
                rx.foreach(
                    m.m_history,
                    lambda h: rx.hstack(
                        rx.icon(h.outcome_icon, size=16, color=rx.color(h.outcome_color, 9)),
                        rx.text(h.label, size="2", font_family="monospace"),
                        rx.text(h.state, size="2"),
                        rx.text(h.last_outcome, size="2", weight="medium"),
                        align="center",
                    ),
                ),
                width="100%",
            ),
            empty(rx.cond(m.m_note != "", m.m_note, "Never searched."), "history"),
        ),
    )
