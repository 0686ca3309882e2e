"""The Comradarr web app: routes and theme."""

from __future__ import annotations

import reflex as rx

from . import (
    analytics,
    backups,
    content,
    dashboard,
    downloads,
    indexers,
    maintenance,
    notifications,
    pages,
    queue,
    schedules,
    security,
    session,
)
from .state import (
    ApiKeysState,
    AuthState,
    ConnectorDetailState,
    ConnectorFormState,
    ConnectorsState,
    SettingsState,
)

app = rx.App(
    head_components=[
        rx.el.meta(name="color-scheme", content="light dark"),
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
    ],
    # The session cookie's handoff routes, then the security headers around everything.
    api_transformer=[session.routes(), downloads.download_routes(), session.SecurityHeaders],
)

app.add_page(pages.login, route="/login", title="Sign in · Comradarr", on_load=AuthState.load_login)
app.add_page(pages.setup, route="/setup", title="Setup · Comradarr", on_load=AuthState.load_setup)
app.add_page(
    dashboard.dashboard,
    route="/",
    title="Dashboard · Comradarr",
    on_load=dashboard.DashboardState.load,
)
app.add_page(
    pages.connectors,
    route="/connectors",
    title="Connectors · Comradarr",
    on_load=ConnectorsState.load,
)
app.add_page(
    pages.connector_form,
    route="/connectors/new",
    title="Connector · Comradarr",
    on_load=ConnectorFormState.load,
)
app.add_page(
    pages.connector_detail,
    route="/connector",
    title="Connector · Comradarr",
    on_load=ConnectorDetailState.load,
)
app.add_page(
    pages.settings, route="/settings", title="Settings · Comradarr", on_load=SettingsState.load
)
app.add_page(
    notifications.notifications,
    route="/settings/notifications",
    title="Notifications · Comradarr",
    on_load=notifications.NotificationsState.load,
)
app.add_page(
    pages.api_keys, route="/api-keys", title="API keys · Comradarr", on_load=ApiKeysState.load
)
app.add_page(
    content.content,
    route="/content",
    title="Content · Comradarr",
    on_load=content.ContentState.load,
)
app.add_page(
    content.series_detail,
    route="/content/series",
    title="Series · Comradarr",
    on_load=content.SeriesState.load,
)
app.add_page(
    content.movie_detail,
    route="/content/movie",
    title="Movie · Comradarr",
    on_load=content.MovieState.load,
)
app.add_page(queue.queue, route="/queue", title="Queue · Comradarr", on_load=queue.QueueState.load)
app.add_page(
    schedules.schedules,
    route="/schedules",
    title="Schedules · Comradarr",
    on_load=schedules.SchedulesState.load,
)
app.add_page(
    indexers.indexers,
    route="/indexers",
    title="Indexers · Comradarr",
    on_load=indexers.IndexersState.load,
)
app.add_page(
    analytics.analytics,
    route="/analytics",
    title="Analytics · Comradarr",
    on_load=analytics.AnalyticsState.load,
)
app.add_page(
    security.security,
    route="/security",
    title="Security · Comradarr",
    on_load=security.SecurityState.load,
)
app.add_page(
    maintenance.maintenance,
    route="/maintenance",
    title="Maintenance · Comradarr",
    on_load=maintenance.MaintenanceState.load,
)
app.add_page(
    backups.backups,
    route="/backups",
    title="Backups · Comradarr",
    on_load=backups.BackupsState.load,
)
