"""Configuration export and import on the Maintenance page: download the configuration (no
secret in it); import one by pasting it, giving each connector's API key and each channel's
URL again, with the current password. The gateway checks all of it first: every problem is
listed and nothing changes until there are none."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import reflex as rx

from . import api, downloads
from .state import AuthState

# A configuration is a few kilobytes; the gateway refuses large bodies anyway.
MAX_PASTE = 1_000_000


@dataclass
class SecretRow:
    kind: str = ""  # "connector" or "channel"
    name: str = ""
    label: str = ""
    value: str = ""


def needed_secrets(doc: Any) -> list[SecretRow]:
    """The secrets an exported file needs again: each connector's key, each channel's URL."""
    if not isinstance(doc, dict):
        return []
    rows = [
        SecretRow("connector", str(c.get("name")), f"API key of {c.get('type')} '{c.get('name')}'")
        for c in doc.get("connectors") or []
        if isinstance(c, dict) and c.get("name")
    ]
    rows += [
        SecretRow("channel", str(c.get("name")), f"Apprise URL of channel '{c.get('name')}'")
        for c in doc.get("notification_channels") or []
        if isinstance(c, dict) and c.get("name")
    ]
    return rows


def import_body(doc: Any, rows: list[SecretRow], password: str) -> dict[str, Any]:
    """The POST /config/import body."""
    return {
        "config": doc,
        "secrets": {
            "connectors": {r.name: r.value.strip() for r in rows if r.kind == "connector"},
            "channels": {r.name: {"url": r.value.strip()} for r in rows if r.kind == "channel"},
        },
        "current_password": password,
    }


class ConfigState(AuthState):
    pasted: str = ""
    secrets: list[SecretRow] = []
    password: str = ""
    read_error: str = ""
    problems: list[str] = []
    done: str = ""
    export_error: str = ""
    _doc: Any = None

    @rx.event
    def set_pasted(self, text: str) -> None:
        self.pasted = text[:MAX_PASTE]
        self.read_error = self.done = ""
        self.problems = []
        self.secrets = []
        self._doc = None
        if not text.strip():
            return
        try:
            doc = json.loads(text)
        except ValueError as exc:
            self.read_error = f"This is not an exported configuration (not JSON: {exc.msg})."
            return
        if not isinstance(doc, dict) or doc.get("format", "comradarr-config") != "comradarr-config":
            self.read_error = "This is not a Comradarr configuration export."
            return
        self._doc = doc
        self.secrets = needed_secrets(doc)

    @rx.event
    def set_secret(self, index: int, value: str) -> None:
        rows = list(self.secrets)
        if 0 <= index < len(rows):
            rows[index] = SecretRow(rows[index].kind, rows[index].name, rows[index].label, value)
        self.secrets = rows

    @rx.event
    def set_password(self, value: str) -> None:
        self.password = value

    @rx.event
    async def download(self):
        try:
            url = await downloads.prepare(self._session(), "/config/export", {})
        except api.Unauthorized:
            self._forget()
            return self._login_redirect()
        except api.GatewayError as exc:
            self.export_error = exc.message
            return None
        self.export_error = ""
        return [rx.download(url=url), rx.toast.success("Configuration downloaded")]

    @rx.event
    async def run_import(self):
        self.problems, self.done = [], ""
        if self._doc is None:
            self.read_error = self.read_error or "Paste an exported configuration first."
            return None
        if not self.password:
            self.problems = ["Enter your current password."]
            return None
        body = import_body(self._doc, self.secrets, self.password)
        try:
            summary: Any = await self._guarded("POST", "/config/import", json=body)
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.problems = [p for p in exc.message.split("; ") if p] or [exc.message]
            return None
        self.password = ""
        counts = summary if isinstance(summary, dict) else {}
        self.done = (
            f"Imported {counts.get('connectors', 0)} connector(s),"
            f" {counts.get('schedules', 0)} schedule(s),"
            f" {counts.get('throttle_profiles', 0)} throttle profile(s),"
            f" {counts.get('notification_channels', 0)} channel(s)"
            + (" and the settings." if "settings" in (self._doc or {}) else ".")
        )
        return rx.toast.success("Configuration imported")


def _secret_input(row: SecretRow, index: int) -> rx.Component:
    return rx.vstack(
        rx.text(row.label, size="2", as_="label", html_for=f"import-secret-{index}"),
        rx.input(
            type="password",
            value=row.value,
            on_change=lambda v: ConfigState.set_secret(index, v),
            id=f"import-secret-{index}",
            auto_complete="off",
            width="100%",
            max_width="480px",
        ),
        spacing="1",
        width="100%",
    )


def config_card() -> rx.Component:
    s = ConfigState
    return rx.card(
        rx.vstack(
            rx.heading("Configuration", size="4"),
            rx.text(
                "Settings, throttle profiles, connectors, schedules and notification channels,"
                " without a secret: an import asks for the API keys and channel URLs again.",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.button(
                rx.icon("download", size=16),
                "Download configuration",
                variant="soft",
                on_click=s.download,
                id="export-config",
            ),
            rx.cond(s.export_error != "", rx.callout(s.export_error, color_scheme="red")),
            rx.text("Import: paste an exported file", size="2", weight="medium"),
            rx.text_area(
                value=s.pasted,
                on_change=s.set_pasted,
                placeholder='{"format": "comradarr-config", ...}',
                id="import-config",
                rows="6",
                width="100%",
                font_family="monospace",
            ),
            rx.cond(
                s.read_error != "",
                rx.callout(s.read_error, color_scheme="red", id="import-read-error", width="100%"),
            ),
            rx.foreach(s.secrets, _secret_input),
            rx.vstack(
                rx.text("Your current password", size="2", as_="label", html_for="import-password"),
                rx.input(
                    type="password",
                    value=s.password,
                    on_change=s.set_password,
                    id="import-password",
                    auto_complete="current-password",
                    max_width="360px",
                    width="100%",
                ),
                spacing="1",
                width="100%",
            ),
            rx.cond(
                s.problems.length() > 0,
                rx.callout(
                    rx.vstack(
                        rx.text("Nothing was imported. Fix these first:", weight="medium"),
                        rx.foreach(s.problems, lambda p: rx.text("• ", p, size="2")),
                        spacing="1",
                    ),
                    color_scheme="red",
                    id="import-problems",
                    width="100%",
                ),
            ),
            rx.cond(
                s.done != "",
                rx.callout(s.done, color_scheme="green", id="import-done", width="100%"),
            ),
            rx.button("Import", on_click=s.run_import, id="run-import"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


class KeyState(AuthState):
    key_password: str = ""
    key_asking: bool = False
    key_error: str = ""
    key_done: str = ""
    rotating: bool = False

    @rx.event
    def set_key_password(self, value: str) -> None:
        self.key_password = value

    @rx.event
    def ask(self, asking: bool) -> None:
        self.key_asking = asking
        self.key_error = self.key_done = ""

    @rx.event
    async def rotate(self):
        self.key_error = self.key_done = ""
        if not self.key_password:
            self.key_error = "Enter your current password."
            return
        self.rotating = True
        yield
        try:
            body: Any = await self._guarded(
                "POST",
                "/security/rotate-secret-key",
                json={"current_password": self.key_password},
                timeout=120,
            )
        except api.Unauthorized:
            self.rotating = False
            yield self._login_redirect()
            return
        except api.GatewayError as exc:
            self.rotating = False
            self.key_error = "The current password is wrong." if exc.status == 403 else exc.message
            return
        self.rotating = False
        self.key_asking = False
        self.key_password = ""
        count = int(body.get("rotated", 0)) if isinstance(body, dict) else 0
        self.key_done = (
            f"{count} secret(s) re-encrypted under a new key; every service switched to it"
            " without a restart."
        )
        yield rx.toast.success("Encryption key changed")


def key_card() -> rx.Component:
    s = KeyState
    return rx.card(
        rx.vstack(
            rx.heading("Encryption key", size="4"),
            rx.text(
                "Connector API keys, channel URLs and webhook tokens are stored encrypted under"
                " SECRET_KEY. A new key re-encrypts all of them in one transaction; running"
                " services switch to it without a restart. Where SECRET_KEY is set in the"
                " environment, use `comradarr secrets rotate --new-key-file FILE` on the host.",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.cond(
                s.key_asking,
                rx.vstack(
                    rx.text(
                        "Your current password", size="2", as_="label", html_for="key-password"
                    ),
                    rx.input(
                        type="password",
                        value=s.key_password,
                        on_change=s.set_key_password,
                        id="key-password",
                        auto_complete="current-password",
                        max_width="360px",
                        width="100%",
                    ),
                    rx.hstack(
                        rx.button(
                            "Re-encrypt with a new key",
                            color_scheme="red",
                            on_click=s.rotate,
                            loading=s.rotating,
                            id="confirm-rotate",
                        ),
                        rx.button("Cancel", variant="soft", on_click=s.ask(False)),
                    ),
                    spacing="2",
                    width="100%",
                ),
                rx.button(
                    rx.icon("key-round", size=16),
                    "Change the key",
                    variant="soft",
                    on_click=s.ask(True),
                    id="rotate-key",
                ),
            ),
            rx.cond(
                s.key_error != "",
                rx.callout(s.key_error, color_scheme="red", id="rotate-error", width="100%"),
            ),
            rx.cond(
                s.key_done != "",
                rx.callout(s.key_done, color_scheme="green", id="rotate-done", width="100%"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )
