"""Every screen."""

from __future__ import annotations

import reflex as rx

from .layout import auth_card, confirm_button, empty, page, status_badge
from .notifications import webhook_card
from .politeness import search_rules_card
from .state import (
    CONNECTOR_TYPES,
    ApiKeysState,
    AuthState,
    ConnectorDetailState,
    ConnectorFormState,
    ConnectorRow,
    ConnectorsState,
    SettingsState,
)


def error_callout(text: rx.Var) -> rx.Component:
    return rx.cond(
        text != "",
        rx.callout(text, icon="triangle-alert", color_scheme="red", width="100%", role="alert"),
    )


def field(label: str, control: rx.Component, hint: rx.Var | str = "") -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color=rx.color("gray", 10))),
        spacing="1",
        width="100%",
    )


# ---------- login / setup ----------


def login() -> rx.Component:
    return auth_card(
        rx.text("Sign in to continue.", color=rx.color("gray", 11)),
        rx.cond(
            AuthState.gateway_down != "",
            rx.callout(AuthState.gateway_down, icon="unplug", color_scheme="orange"),
        ),
        rx.form(
            rx.vstack(
                field(
                    "Username",
                    rx.input(
                        name="username",
                        id="username",
                        auto_complete="username",
                        on_change=AuthState.set_login_username,
                        size="3",
                        width="100%",
                    ),
                ),
                field(
                    "Password",
                    rx.input(
                        name="password",
                        id="password",
                        type="password",
                        auto_complete="current-password",
                        on_change=AuthState.set_login_password,
                        size="3",
                        width="100%",
                    ),
                ),
                error_callout(AuthState.login_error),
                rx.button(
                    "Sign in",
                    type="submit",
                    size="3",
                    width="100%",
                    loading=AuthState.busy,
                    id="login-submit",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=AuthState.submit_login,
            width="100%",
        ),
    )


def setup() -> rx.Component:
    return auth_card(
        rx.heading("Welcome", size="5"),
        rx.text(
            "Create the administrator account. Use a long password: this account can "
            "see and change every connector.",
            color=rx.color("gray", 11),
            size="2",
        ),
        rx.form(
            rx.vstack(
                field(
                    "Username",
                    rx.input(name="username", id="setup-username", size="3", width="100%"),
                ),
                field(
                    "Password",
                    rx.input(
                        name="password",
                        id="setup-password",
                        type="password",
                        auto_complete="new-password",
                        size="3",
                        width="100%",
                    ),
                ),
                field(
                    "Repeat password",
                    rx.input(
                        name="confirm",
                        id="setup-confirm",
                        type="password",
                        auto_complete="new-password",
                        size="3",
                        width="100%",
                    ),
                ),
                error_callout(AuthState.setup_error),
                rx.button(
                    "Create account",
                    type="submit",
                    size="3",
                    width="100%",
                    loading=AuthState.busy,
                    id="setup-submit",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=AuthState.submit_setup,
            width="100%",
        ),
    )


# ---------- connectors ----------


def delete_dialog() -> rx.Component:
    """Deleting a connector asks first, and says what goes with it."""
    s = ConnectorsState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete ", s.confirm_delete_name, "?"),
            rx.alert_dialog.description(
                "Its ",
                s.confirm_delete_schedules.to_string(),
                " schedule(s), its mirrored library, its queue and its search history are "
                "deleted with it. Nothing changes in the app itself.",
            ),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button(
                        "Cancel", variant="soft", color_scheme="gray", on_click=s.cancel_delete
                    )
                ),
                rx.alert_dialog.action(
                    rx.button(
                        "Delete connector",
                        color_scheme="red",
                        on_click=s.delete,
                        id="confirm-delete-connector",
                    )
                ),
                gap="8px",
                justify="end",
                margin_top="16px",
            ),
        ),
        open=s.confirm_delete > 0,
    )


def connector_menu(c_id: rx.Var, name: rx.Var, kind: rx.Var, **props) -> rx.Component:
    """Sync now (incremental or full) and delete, for one connector."""
    s = ConnectorsState
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(rx.icon("ellipsis", size=16), variant="ghost", aria_label="Actions", **props)
        ),
        rx.menu.content(
            rx.cond(
                kind != "prowlarr",
                rx.fragment(
                    rx.menu.item(
                        rx.icon("refresh-cw", size=14),
                        "Sync now",
                        on_click=s.sync_now(c_id, "incremental"),
                        class_name="sync-now",
                    ),
                    rx.menu.item(
                        rx.icon("refresh-ccw-dot", size=14),
                        "Full sync now",
                        on_click=s.sync_now(c_id, "full"),
                        class_name="full-sync-now",
                    ),
                    rx.menu.separator(),
                ),
            ),
            rx.menu.item(
                rx.icon("trash-2", size=14),
                "Delete…",
                color="red",
                on_click=s.ask_delete(c_id, name),
                class_name="delete-connector",
            ),
        ),
    )


def connector_list_row(c: ConnectorRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(status_badge(c.status, c.color)),
        rx.table.cell(rx.link(c.name, href="/connector?id=" + c.id.to_string(), weight="medium")),
        rx.table.cell(rx.text(c.type, transform="capitalize"), display=["none", "table-cell"]),
        rx.table.cell(
            rx.text(c.url, size="2", trim="both"), display=["none", "none", "table-cell"]
        ),
        rx.table.cell(
            rx.switch(
                checked=c.enabled,
                on_change=lambda v: ConnectorsState.toggle_enabled(c.id, v),
                aria_label="Enabled",
            )
        ),
        rx.table.cell(connector_menu(c.id, c.name, c.type, class_name="connector-actions")),
        align="center",
    )


def connectors() -> rx.Component:
    return page(
        "Connectors",
        error_callout(ConnectorsState.list_error),
        rx.cond(
            ConnectorsState.connectors.length() > 0,
            rx.card(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Status"),
                            rx.table.column_header_cell("Name"),
                            rx.table.column_header_cell("Type", display=["none", "table-cell"]),
                            rx.table.column_header_cell(
                                "URL", display=["none", "none", "table-cell"]
                            ),
                            rx.table.column_header_cell("Enabled"),
                            rx.table.column_header_cell(""),
                        )
                    ),
                    rx.table.body(rx.foreach(ConnectorsState.connectors, connector_list_row)),
                    width="100%",
                    id="connector-table",
                ),
                width="100%",
            ),
            empty(
                rx.cond(
                    ConnectorsState.list_unavailable,
                    "Connectors are not available yet.",
                    rx.cond(ConnectorsState.loading, "Loading…", "No connectors yet."),
                ),
                "plug",
            ),
        ),
        delete_dialog(),
        actions=rx.link(
            rx.button(rx.icon("plus"), "Add connector", id="add-connector"), href="/connectors/new"
        ),
    )


def connector_form() -> rx.Component:
    s = ConnectorFormState
    test_box = rx.match(
        s.test_state,
        (
            "ok",
            rx.callout(s.test_message, icon="circle-check", color_scheme="green", id="test-result"),
        ),
        (
            "error",
            rx.callout(s.test_message, icon="circle-x", color_scheme="red", id="test-result"),
        ),
        (
            "running",
            rx.callout(s.test_message, icon="loader", color_scheme="gray", id="test-result"),
        ),
        rx.fragment(),
    )
    return page(
        rx.cond(s.edit_id > 0, "Edit connector", "Add connector"),
        rx.card(
            rx.vstack(
                rx.grid(
                    field(
                        "Type",
                        rx.select(
                            CONNECTOR_TYPES,
                            value=s.f_type,
                            on_change=s.set_f_type,
                            disabled=s.edit_id > 0,
                            id="f-type",
                            width="100%",
                        ),
                    ),
                    field(
                        "Name",
                        rx.input(
                            value=s.f_name,
                            on_change=s.set_f_name,
                            placeholder="Sonarr 4K",
                            id="f-name",
                            width="100%",
                        ),
                    ),
                    field(
                        "URL",
                        rx.input(
                            value=s.f_url,
                            on_change=s.set_f_url,
                            placeholder="http://sonarr:8989",
                            id="f-url",
                            width="100%",
                        ),
                    ),
                    field(
                        "API key",
                        rx.input(
                            value=s.f_key,
                            on_change=s.set_f_key,
                            type="password",
                            auto_complete="off",
                            id="f-key",
                            width="100%",
                        ),
                        hint=s.key_hint,
                    ),
                    field(
                        "Timeout (seconds)",
                        rx.input(
                            value=s.f_timeout,
                            on_change=s.set_f_timeout,
                            type="number",
                            id="f-timeout",
                            width="100%",
                        ),
                    ),
                    field(
                        "TLS",
                        rx.hstack(
                            rx.switch(checked=s.f_verify, on_change=s.set_f_verify, id="f-verify"),
                            rx.text("Verify the certificate", size="2"),
                            align="center",
                            height="32px",
                        ),
                    ),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="4",
                    width="100%",
                ),
                rx.cond(
                    s.planned.length() > 0,
                    rx.callout(
                        rx.vstack(
                            rx.text(
                                "Saving tests the connection, syncs the library at once and "
                                "creates these schedules (edit them under Schedules):",
                                size="2",
                            ),
                            rx.foreach(s.planned, lambda p: rx.text("• ", p, size="2")),
                            spacing="1",
                        ),
                        icon="calendar-clock",
                        color_scheme="blue",
                        id="planned-schedules",
                        width="100%",
                    ),
                    rx.cond(
                        (s.edit_id == 0) & (s.f_type == "prowlarr"),
                        rx.callout(
                            "Prowlarr has no library: saving tests it, and no sync schedules "
                            "are created.",
                            icon="info",
                            width="100%",
                        ),
                    ),
                ),
                test_box,
                error_callout(s.save_error),
                rx.flex(
                    rx.button(
                        rx.icon("plug-zap"),
                        "Test connection",
                        variant="soft",
                        on_click=s.test_connection,
                        loading=s.test_state == "running",
                        id="test-connection",
                    ),
                    rx.button("Save", on_click=s.save, loading=s.saving, id="save-connector"),
                    rx.cond(
                        s.duplicate,
                        rx.button(
                            "Save anyway",
                            variant="soft",
                            color_scheme="orange",
                            on_click=s.save_anyway,
                            id="save-anyway",
                        ),
                    ),
                    rx.spacer(),
                    rx.cond(
                        s.edit_id > 0,
                        rx.button(
                            "Delete",
                            color_scheme="red",
                            variant="soft",
                            on_click=ConnectorsState.ask_delete(s.edit_id, s.f_name),
                        ),
                    ),
                    gap="12px",
                    wrap="wrap",
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
            width="100%",
        ),
        delete_dialog(),
    )


def generic_table(cols: rx.Var, rows: rx.Var, note: rx.Var, icon: str = "inbox") -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.foreach(
                            cols,
                            lambda c: rx.table.column_header_cell(
                                rx.text(c, transform="capitalize")
                            ),
                        )
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        rows,
                        lambda r: rx.table.row(rx.foreach(r.cells, lambda v: rx.table.cell(v))),
                    )
                ),
                width="100%",
                variant="surface",
            ),
            overflow_x="auto",
            width="100%",
        ),
        empty(note, icon),
    )


def kv_line(label: str, value) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color=rx.color("gray", 10), min_width="110px"),
        rx.text(value, size="2", weight="medium", trim="both"),
        width="100%",
    )


def connector_detail() -> rx.Component:
    s = ConnectorDetailState
    return page(
        rx.cond(s.c.name != "", s.c.name, "Connector"),
        error_callout(s.detail_error),
        rx.grid(
            rx.card(
                rx.vstack(
                    rx.hstack(
                        rx.heading("Configuration", size="4"),
                        rx.spacer(),
                        status_badge(s.c.status, s.c.color),
                        width="100%",
                    ),
                    kv_line("Type", s.c.type),
                    kv_line("URL", s.c.url),
                    kv_line("API key", s.c.key_masked),
                    kv_line("Enabled", rx.cond(s.c.enabled, "yes", "no")),
                    kv_line("Verify TLS", rx.cond(s.c.verify_ssl, "yes", "no")),
                    kv_line("Timeout", s.c.timeout + " s"),
                    kv_line("Application", s.c.app),
                    kv_line("Checked", s.c.checked_at + " (" + s.timezone + ")"),
                    rx.cond(s.c.messages != "", rx.callout(s.c.messages, color_scheme="yellow")),
                    spacing="2",
                    width="100%",
                ),
            ),
            rx.card(
                rx.vstack(
                    rx.heading("Statistics", size="4"),
                    rx.cond(
                        s.stats.length() > 0,
                        rx.foreach(s.stats, lambda kv: kv_line(kv.key, kv.value)),
                        rx.text(s.stats_note, color=rx.color("gray", 10), size="2"),
                    ),
                    spacing="2",
                    width="100%",
                )
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        webhook_card(),
        search_rules_card(),
        rx.heading("Health history", size="4"),
        generic_table(s.health_cols, s.health_rows, s.health_note, "heart-pulse"),
        rx.heading("Sync history", size="4"),
        generic_table(s.sync_cols, s.sync_rows, s.sync_note, "refresh-cw"),
        delete_dialog(),
        actions=rx.hstack(
            rx.cond(
                s.c.type != "prowlarr",
                rx.button(
                    rx.icon("refresh-cw"),
                    "Sync now",
                    variant="soft",
                    on_click=ConnectorsState.sync_now(s.c.id, "incremental"),
                    id="sync-now",
                ),
            ),
            rx.cond(
                s.c.type != "prowlarr",
                rx.link(
                    rx.button(rx.icon("list-ordered"), "Queue", variant="soft"),
                    href="/queue?connector=" + s.c.id.to_string(),
                    id="connector-queue",
                ),
            ),
            rx.link(
                rx.button(rx.icon("pencil"), "Edit", variant="soft"),
                href="/connectors/new?id=" + s.c.id.to_string(),
            ),
            connector_menu(s.c.id, s.c.name, s.c.type, id="connector-actions"),
            spacing="2",
        ),
    )


# ---------- settings / api keys ----------


def setting_row(r) -> rx.Component:
    return rx.flex(
        rx.text(r.label, size="2", weight="medium", width=["auto", "300px"], flex_shrink="0"),
        rx.match(
            r.kind,
            (
                "bool",
                rx.switch(
                    checked=r.value == "true",
                    on_change=lambda v: SettingsState.set_setting(r.key, v),
                ),
            ),
            (
                "choice",
                rx.select(
                    r.options,
                    value=r.value,
                    on_change=lambda v: SettingsState.set_setting(r.key, v),
                    id="setting-" + r.key.replace(".", "-"),
                ),
            ),
            rx.input(
                value=r.value,
                on_change=lambda v: SettingsState.set_setting(r.key, v),
                id="setting-" + r.key.replace(".", "-"),
                type=rx.cond(r.kind == "number", "number", "text"),
                width="100%",
                max_width="360px",
            ),
        ),
        direction=rx.breakpoints(initial="column", sm="row"),
        gap="8px",
        align=rx.breakpoints(initial="start", sm="center"),
        width="100%",
    )


def settings() -> rx.Component:
    return page(
        "Settings",
        rx.cond(
            SettingsState.settings.length() > 0,
            rx.card(
                rx.vstack(
                    rx.foreach(SettingsState.settings, setting_row),
                    rx.divider(),
                    field(
                        "Current password",
                        rx.input(
                            type="password",
                            value=SettingsState.current_password,
                            on_change=SettingsState.set_current_password,
                            max_width="360px",
                            width="100%",
                        ),
                        hint="Needed only to change security settings.",
                    ),
                    rx.hstack(
                        rx.button("Save", on_click=SettingsState.save),
                        rx.text(SettingsState.settings_msg, size="2"),
                        align="center",
                    ),
                    spacing="4",
                    width="100%",
                ),
                width="100%",
            ),
            empty(SettingsState.settings_note, "settings"),
        ),
    )


def api_key_row(k) -> rx.Component:
    return rx.table.row(
        rx.table.cell(k.name),
        rx.table.cell(rx.badge(k.scope, variant="surface")),
        rx.table.cell(rx.code(k.masked)),
        rx.table.cell(k.created, display=["none", "table-cell"]),
        rx.table.cell(k.last_used, display=["none", "table-cell"]),
        rx.table.cell(k.rate, display=["none", "table-cell"], class_name="key-rate"),
        rx.table.cell(
            confirm_button(
                "Revoke",
                "Confirm revoke",
                asking=ApiKeysState.confirm_id == k.id,
                ask=ApiKeysState.ask_revoke(k.id),
                confirm=ApiKeysState.revoke(k.id),
                cancel=ApiKeysState.ask_revoke(""),
            )
        ),
        align="center",
    )


def api_keys() -> rx.Component:
    s = ApiKeysState
    return page(
        "API keys",
        rx.text(
            "API keys let scripts and other tools call the Comradarr API. A key is shown once, "
            "when it is created.",
            color=rx.color("gray", 11),
            size="2",
        ),
        rx.card(
            rx.flex(
                rx.input(
                    placeholder="Description, e.g. home-assistant",
                    value=s.new_name,
                    on_change=s.set_new_name,
                    id="new-key-name",
                    flex="1",
                    min_width="200px",
                ),
                rx.select(["read", "full"], value=s.new_scope, on_change=s.set_new_scope),
                rx.input(
                    placeholder="Requests/min (default)",
                    value=s.new_rate,
                    on_change=s.set_new_rate,
                    type="number",
                    min="1",
                    id="new-key-rate",
                    width="190px",
                ),
                rx.button(rx.icon("plus"), "Create key", on_click=s.create, id="create-key"),
                gap="12px",
                wrap="wrap",
                width="100%",
            ),
            width="100%",
        ),
        error_callout(s.keys_error),
        rx.cond(
            s.new_key != "",
            rx.callout.root(
                rx.callout.icon(rx.icon("key-round")),
                rx.vstack(
                    rx.text("Copy this key now: it will not be shown again.", weight="bold"),
                    rx.hstack(
                        rx.code(s.new_key, id="new-key-value", word_break="break-all"),
                        rx.icon_button(
                            rx.icon("copy", size=16),
                            size="1",
                            variant="soft",
                            on_click=rx.set_clipboard(s.new_key),
                            aria_label="Copy",
                        ),
                        align="center",
                        wrap="wrap",
                    ),
                    rx.button("Done", size="1", variant="soft", on_click=s.dismiss_key),
                ),
                color_scheme="green",
                width="100%",
            ),
        ),
        rx.cond(
            s.keys.length() > 0,
            rx.card(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Name"),
                            rx.table.column_header_cell("Scope"),
                            rx.table.column_header_cell("Key"),
                            rx.table.column_header_cell("Created", display=["none", "table-cell"]),
                            rx.table.column_header_cell(
                                "Last used", display=["none", "table-cell"]
                            ),
                            rx.table.column_header_cell("Limit", display=["none", "table-cell"]),
                            rx.table.column_header_cell(""),
                        )
                    ),
                    rx.table.body(rx.foreach(s.keys, api_key_row)),
                    width="100%",
                ),
                width="100%",
            ),
            empty(s.keys_note, "key-round"),
        ),
    )


# ---------- content / queue / schedules ----------
