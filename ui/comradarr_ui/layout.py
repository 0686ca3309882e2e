"""Page frame: sidebar on desktop, top bar with a menu on phones, theme toggle, logout."""

from __future__ import annotations

import reflex as rx

from .state import AuthState, base_path

NAV = [
    ("Dashboard", "/", "layout-dashboard"),
    ("Connectors", "/connectors", "plug"),
    ("Content", "/content", "library"),
    ("Queue", "/queue", "list-ordered"),
    ("Indexers", "/indexers", "radio-tower"),
    ("Schedules", "/schedules", "calendar-clock"),
    ("Analytics", "/analytics", "chart-column"),
    ("Settings", "/settings", "settings"),
    ("Notifications", "/settings/notifications", "bell"),
    ("API keys", "/api-keys", "key-round"),
    ("Security", "/security", "shield"),
    ("Maintenance", "/maintenance", "wrench"),
    ("Backups", "/backups", "archive"),
]


def theme_toggle(**props) -> rx.Component:
    return rx.icon_button(
        rx.color_mode_cond(light=rx.icon("moon", size=18), dark=rx.icon("sun", size=18)),
        on_click=rx.toggle_color_mode,
        variant="ghost",
        aria_label="Toggle dark mode",
        class_name="theme-toggle",  # on the sidebar and the phone's top bar: no id twice
        **props,
    )


def brand() -> rx.Component:
    return rx.hstack(
        rx.icon("radar", size=22, color=rx.color("accent", 10)),
        rx.heading(AuthState.app_name, size="5", weight="bold", class_name="brand"),
        align="center",
        spacing="2",
    )


def nav_link(label: str, href: str, icon: str) -> rx.Component:
    # The browser's path carries BASE_URL (Reflex's frontend_path); hrefs do not.
    path = AuthState.router.url.path
    full = base_path() + href
    home = (path == full) | (path == base_path())
    active = home if href == "/" else path.startswith(full)
    for other, *_ in [(h,) for _l, h, _i in NAV if h != href and h.startswith(href + "/")]:
        # a more specific entry is the active one
        active = active & ~path.startswith(base_path() + other)
    return rx.link(
        rx.hstack(rx.icon(icon, size=18), rx.text(label, size="3"), align="center", spacing="3"),
        href=href,
        underline="none",
        color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 11)),
        background=rx.cond(active, rx.color("accent", 3), "transparent"),
        padding_x="12px",
        padding_y="8px",
        border_radius="8px",
        width="100%",
        _hover={"background": rx.color("gray", 3)},
    )


def user_box() -> rx.Component:
    return rx.hstack(
        rx.icon("circle-user", size=18),
        rx.text(AuthState.username, size="2", weight="medium", id="current-user"),
        rx.spacer(),
        theme_toggle(),
        rx.icon_button(
            rx.icon("log-out", size=18),
            on_click=AuthState.logout,
            variant="ghost",
            aria_label="Log out",
            id="logout",
        ),
        align="center",
        width="100%",
    )


def sidebar() -> rx.Component:
    # The column (background, border) stretches with the page; its contents stay in view.
    return rx.box(
        rx.vstack(
            brand(),
            rx.divider(),
            *[nav_link(*item) for item in NAV],
            rx.spacer(),
            rx.divider(),
            user_box(),
            height="100vh",
            spacing="1",
            padding="16px",
            position="sticky",
            top="0",
        ),
        display=["none", "none", "block"],
        width="232px",
        min_width="232px",
        align_self="stretch",
        min_height="100vh",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
        id="sidebar",
    )


def topbar() -> rx.Component:
    return rx.hstack(
        rx.menu.root(
            rx.menu.trigger(
                rx.icon_button(
                    rx.icon("menu", size=20), variant="ghost", aria_label="Menu", id="nav-menu"
                )
            ),
            rx.menu.content(
                *[
                    rx.menu.item(
                        rx.hstack(rx.icon(icon, size=16), rx.text(label)),
                        on_click=rx.redirect(href),
                    )
                    for label, href, icon in NAV
                ],
                rx.menu.separator(),
                rx.menu.item(
                    rx.hstack(rx.icon("log-out", size=16), rx.text("Log out")),
                    on_click=AuthState.logout,
                ),
            ),
        ),
        brand(),
        rx.spacer(),
        theme_toggle(),
        display=["flex", "flex", "none"],
        align="center",
        padding="10px 14px",
        width="100%",
        position="sticky",
        top="0",
        z_index="10",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
    )


def page(title: str, *children: rx.Component, actions: rx.Component | None = None):
    """A private page: the frame around the title, optional actions and content."""
    header = rx.flex(
        rx.heading(title, size="7", id="page-title"),
        rx.spacer(),
        actions if actions is not None else rx.fragment(),
        align="center",
        wrap="wrap",
        gap="12px",
        width="100%",
    )
    return rx.hstack(
        sidebar(),
        rx.box(
            topbar(),
            rx.cond(
                AuthState.logged_in,
                rx.vstack(
                    header,
                    *children,
                    spacing="5",
                    padding=["16px", "20px", "32px"],
                    max_width="1200px",
                    width="100%",
                ),
                rx.center(rx.spinner(size="3"), padding="64px"),
            ),
            flex="1",
            min_width="0",
            width="100%",
        ),
        spacing="0",
        align="start",
        width="100%",
        min_height="100vh",
    )


def empty(text: rx.Var | str, icon: str = "inbox") -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon(icon, size=32, color=rx.color("gray", 8)),
            rx.text(text, color=rx.color("gray", 11), align="center"),
            align="center",
        ),
        padding="32px",
        width="100%",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="12px",
        class_name="empty-state",
    )


def status_badge(status: rx.Var, color: rx.Var) -> rx.Component:
    return rx.badge(
        rx.hstack(
            rx.box(width="8px", height="8px", border_radius="50%", background=rx.color(color, 9)),
            rx.text(status),
            align="center",
            spacing="1",
        ),
        color_scheme=color,
        variant="soft",
        radius="full",
        class_name="status-badge",
    )


def auth_card(*children: rx.Component) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.hstack(rx.spacer(), theme_toggle(), width="100%"),
            rx.card(
                rx.vstack(brand(), *children, spacing="4", width="100%"),
                size="3",
                width="100%",
            ),
            width="100%",
            max_width="400px",
            spacing="3",
        ),
        min_height="100vh",
        padding="16px",
        background=rx.color("gray", 2),
    )


def confirm_button(
    label: str,
    confirm_label: str,
    *,
    asking: rx.Var,
    ask: rx.event.EventSpec,
    confirm: rx.event.EventSpec,
    cancel: rx.event.EventSpec,
    class_name: str = "",
) -> rx.Component:
    """A destructive action that asks once more in place (Revoke, then Confirm revoke)."""
    return rx.cond(
        asking,
        rx.hstack(
            rx.button(
                confirm_label,
                color_scheme="red",
                size="1",
                on_click=confirm,
                class_name=f"confirm-{class_name}" if class_name else "",
            ),
            rx.button("Cancel", size="1", variant="soft", on_click=cancel),
        ),
        rx.button(
            label,
            size="1",
            variant="soft",
            color_scheme="red",
            on_click=ask,
            class_name=class_name,
        ),
    )
