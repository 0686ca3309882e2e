"""Security: change the password, see every signed-in session and sign any of them out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx

from . import api
from .layout import confirm_button, empty, page
from .state import AuthState, fmt_time

MIN_PASSWORD = 10


@dataclass
class SessionRow:
    id: str = ""
    device: str = ""
    address: str = ""
    signed_in: str = "—"
    last_seen: str = "—"
    current: bool = False


def device(user_agent: str) -> str:
    """A short name for a browser's User-Agent ('Firefox on Linux'), else the raw text."""
    ua = user_agent or ""
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
                ("curl/", "curl"),
                ("python-httpx", "a script"),
            )
            if token in ua
        ),
        "",
    )
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (ua[:60] if ua else "unknown device")


class SecurityState(AuthState):
    sessions: list[SessionRow] = []
    sessions_note: str = ""
    sessions_error: str = ""
    confirm_id: str = ""
    current_pw: str = ""
    new_pw: str = ""
    confirm_pw: str = ""
    pw_error: str = ""
    pw_done: str = ""

    @rx.event
    def set_current_pw(self, v: str) -> None:
        self.current_pw = v

    @rx.event
    def set_new_pw(self, v: str) -> None:
        self.new_pw = v

    @rx.event
    def set_confirm_pw(self, v: str) -> None:
        self.confirm_pw = v

    @rx.event
    def ask_revoke(self, session_id: str) -> None:
        self.confirm_id = session_id

    async def _fetch(self) -> None:
        body = await self._guarded("GET", "/auth/sessions")
        self.sessions = [
            SessionRow(
                id=str(s.get("id", "")),
                device=device(str(s.get("user_agent") or "")),
                address=str(s.get("client_ip") or "—"),
                signed_in=fmt_time(s.get("created_at")),
                last_seen=fmt_time(s.get("last_seen_at")),
                current=bool(s.get("current")),
            )
            for s in api.items_of(body)
        ]
        self.sessions_note = "" if self.sessions else "No signed-in sessions."

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self.pw_error = self.pw_done = self.sessions_error = self.confirm_id = ""
        self.current_pw = self.new_pw = self.confirm_pw = ""
        try:
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.sessions, self.sessions_note = [], exc.message
        return None

    @rx.event
    async def change_password(self):
        self.pw_error = self.pw_done = ""
        if not self.current_pw:
            self.pw_error = "Enter your current password."
            return None
        if len(self.new_pw) < MIN_PASSWORD:
            self.pw_error = f"The new password needs at least {MIN_PASSWORD} characters."
            return None
        if self.new_pw != self.confirm_pw:
            self.pw_error = "The two new passwords differ."
            return None
        body = {"current_password": self.current_pw, "new_password": self.new_pw}
        try:
            await self._guarded("POST", "/auth/password", json=body)
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.pw_error = "The current password is wrong." if exc.status == 403 else exc.message
            return None
        self.current_pw = self.new_pw = self.confirm_pw = ""
        self.pw_done = "Password changed. Every other session was signed out."
        await self._refresh()
        return rx.toast.success("Password changed")

    async def _refresh(self) -> None:
        try:
            await self._fetch()
        except api.GatewayError as exc:
            self.sessions_error = exc.message

    @rx.event
    async def revoke(self, session_id: str):
        current = any(s.current for s in self.sessions if s.id == session_id)
        try:
            await self._guarded("DELETE", f"/auth/sessions/{session_id}")
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.sessions_error = exc.message
            return None
        self.confirm_id = ""
        if current:  # this browser signed itself out
            self._forget()
            return rx.redirect("/login")
        await self._refresh()
        return rx.toast.success("Session signed out")

    @rx.event
    async def revoke_others(self):
        try:
            body: Any = await self._guarded("POST", "/auth/logout-others")
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.sessions_error = exc.message
            return None
        await self._refresh()
        ended = int((body or {}).get("ended", 0)) if isinstance(body, dict) else 0
        return rx.toast.success(f"{ended} other session(s) signed out")


def _message(text: rx.Var, color: str, element_id: str) -> rx.Component:
    return rx.cond(
        text != "",
        rx.callout(text, color_scheme=color, width="100%", id=element_id, role="status"),
    )


def _password_input(label: str, value: rx.Var, on_change: Any, element_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium", as_="label", html_for=element_id),
        rx.input(
            type="password",
            value=value,
            on_change=on_change,
            id=element_id,
            auto_complete="new-password"
            if element_id != "current-password"
            else "current-password",
            max_width="360px",
            width="100%",
        ),
        spacing="1",
        width="100%",
    )


def password_card() -> rx.Component:
    s = SecurityState
    return rx.card(
        rx.vstack(
            rx.heading("Password", size="4"),
            rx.text(
                "Changing it signs every other session out. Forgotten it? On the host: "
                "comradarr admin reset-password.",
                size="2",
                color=rx.color("gray", 11),
            ),
            _password_input("Current password", s.current_pw, s.set_current_pw, "current-password"),
            _password_input("New password", s.new_pw, s.set_new_pw, "new-password"),
            _password_input(
                "Repeat the new password", s.confirm_pw, s.set_confirm_pw, "confirm-password"
            ),
            _message(s.pw_error, "red", "password-error"),
            _message(s.pw_done, "green", "password-done"),
            rx.button("Change password", on_click=s.change_password, id="change-password"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def session_row(r: SessionRow) -> rx.Component:
    s = SecurityState
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text(r.device),
                rx.cond(r.current, rx.badge("this browser", color_scheme="green", variant="soft")),
                align="center",
                wrap="wrap",
            )
        ),
        rx.table.cell(rx.code(r.address)),
        rx.table.cell(r.signed_in, display=["none", "table-cell"]),
        rx.table.cell(r.last_seen, display=["none", "table-cell"]),
        rx.table.cell(
            confirm_button(
                "Sign out",
                "Confirm sign-out",
                asking=s.confirm_id == r.id,
                ask=s.ask_revoke(r.id),
                confirm=s.revoke(r.id),
                cancel=s.ask_revoke(""),
                class_name="revoke-session",
            )
        ),
        align="center",
        class_name=rx.cond(r.current, "session-row current-session", "session-row"),
    )


def sessions_card() -> rx.Component:
    s = SecurityState
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading("Signed-in sessions", size="4"),
                rx.spacer(),
                rx.button(
                    "Sign out all other sessions",
                    variant="soft",
                    color_scheme="red",
                    on_click=s.revoke_others,
                    id="revoke-others",
                ),
                align="center",
                wrap="wrap",
                gap="12px",
                width="100%",
            ),
            _message(s.sessions_error, "red", "sessions-error"),
            rx.cond(
                s.sessions.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Device"),
                            rx.table.column_header_cell("Address"),
                            rx.table.column_header_cell(
                                "Signed in", display=["none", "table-cell"]
                            ),
                            rx.table.column_header_cell(
                                "Last active", display=["none", "table-cell"]
                            ),
                            rx.table.column_header_cell(""),
                        )
                    ),
                    rx.table.body(rx.foreach(s.sessions, session_row)),
                    width="100%",
                    id="sessions",
                ),
                empty(s.sessions_note, "monitor-smartphone"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def security() -> rx.Component:
    return page("Security", password_card(), sessions_card())
