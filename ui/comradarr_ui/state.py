"""Server-side state. The gateway session lives only in backend vars (leading underscore)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import reflex as rx

from . import api, session

PUBLIC_PATHS = ("/login", "/setup")
STATUS_COLORS = {
    "healthy": "green",
    "degraded": "yellow",
    "unhealthy": "red",
    "offline": "red",
    "auth_failed": "red",
    "unknown": "gray",
}
# A status shown in other words than the API's.
STATUS_LABELS = {"auth_failed": "API key refused"}
CONNECTOR_TYPES = ["sonarr", "radarr", "whisparr", "prowlarr"]


def base_path() -> str:
    """BASE_URL as the UI is served under it ('' at the root): Reflex's frontend_path."""
    return rx.config.get_config().frontend_path.rstrip("/")


def app_path(browser_path: str) -> str:
    """A browser path without BASE_URL: the route as the app names it ('/connectors')."""
    base = base_path()
    path = browser_path or "/"
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base) :] or "/"
    return path


def safe_next(target: str) -> str:
    """A same-site path to return to after login (never an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if urlsplit(target).path in PUBLIC_PATHS:
        return "/"
    return target


def fmt_time(value: Any) -> str:
    """ISO timestamps shown as 'YYYY-MM-DD HH:MM' (UTC as given); anything else as text."""
    if not value:
        return "—"
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return str(value)


def fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}" if value % 1 else str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)[:200]
    return str(value)


@dataclass
class ConnectorRow:
    id: int = 0
    name: str = ""
    type: str = ""
    url: str = ""
    enabled: bool = True
    status: str = "unknown"
    # The app refused the API key: the UI offers to re-enter it.
    key_refused: bool = False
    color: str = "gray"
    key_masked: str = ""
    verify_ssl: bool = True
    timeout: str = "30"
    app: str = ""
    checked_at: str = "—"
    last_sync: str = "—"
    messages: str = ""


@dataclass
class KV:
    key: str = ""
    value: str = ""


@dataclass
class Choice:
    """One option of a select: the value sent, the label shown."""

    value: str = ""
    label: str = ""


# A connector without a throttle profile of its own uses the default profile.
DEFAULT_PROFILE = "default"


def profile_choices(profiles: list[dict[str, Any]]) -> list[Choice]:
    """The throttle-profile select of a connector: the default (named), then every profile."""
    default = next((str(p.get("name")) for p in profiles if p.get("is_default")), "")
    label = f"Default profile ({default})" if default else "Default profile"
    return [Choice(value=DEFAULT_PROFILE, label=label)] + [
        Choice(value=str(p.get("id")), label=str(p.get("name", ""))) for p in profiles
    ]


@dataclass
class Row:
    """A generic table row (already formatted cells)."""

    cells: list[str]


@dataclass
class ApiKeyRow:
    id: str = ""
    name: str = ""
    scope: str = ""
    masked: str = ""
    created: str = "—"
    last_used: str = "—"
    rate: str = ""


@dataclass
class SettingRow:
    key: str = ""
    label: str = ""
    value: str = ""
    kind: str = "str"
    options: list[str] = field(default_factory=list)


# Settings with a fixed set of values: shown as a select, never as free text.
CHOICES: dict[str, list[str]] = {
    "general.log_level": ["trace", "debug", "info", "warning", "error"],
    "security.auth_mode": ["required", "local_bypass"],
}


def _label(dotted: str) -> str:
    """Search.priority_weights.gap is shown as Search / Priority weights / Gap."""
    return " / ".join(p.replace("_", " ").capitalize() for p in dotted.split("."))


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists are left out (not editable here)."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif not isinstance(value, list):
            out[name] = value
    return out


def connector_row(c: dict[str, Any]) -> ConnectorRow:
    status = str(c.get("health_status") or c.get("status") or "unknown")
    health = c.get("health")
    if isinstance(health, dict):
        status = str(health.get("status") or status)
    msgs = c.get("health_messages") or []
    timeout = c.get("timeout_seconds", c.get("timeout", 30))
    app = " ".join(str(x) for x in (c.get("app_name"), c.get("app_version")) if x)
    last_sync = c.get("last_sync_at") or c.get("last_synced_at")
    if isinstance(c.get("last_sync"), dict):
        last_sync = c["last_sync"].get("finished_at") or c["last_sync"].get("started_at")
    return ConnectorRow(
        id=int(c.get("id", 0) or 0),
        name=str(c.get("name", "")),
        type=str(c.get("type", "")),
        url=str(c.get("url", "")),
        enabled=bool(c.get("enabled", True)),
        status=STATUS_LABELS.get(status, status),
        key_refused=status == "auth_failed",
        color=STATUS_COLORS.get(status, "gray"),
        key_masked=str(c.get("api_key_masked") or "****"),
        verify_ssl=bool(c.get("verify_ssl", True)),
        timeout=fmt_value(timeout),
        app=app,
        checked_at=fmt_time(c.get("health_checked_at")),
        last_sync=fmt_time(last_sync),
        messages="; ".join(m if isinstance(m, str) else json.dumps(m) for m in msgs)
        if isinstance(msgs, list)
        else str(msgs),
    )


def table(items: list[dict[str, Any]], limit: int = 200) -> tuple[list[str], list[Row]]:
    """Columns (union of scalar keys, in first-seen order) and formatted rows."""
    columns: list[str] = []
    for item in items[:limit]:
        for key, value in item.items():
            if key not in columns and not isinstance(value, dict | list) and key != "key":
                columns.append(key)
    columns = columns[:8]
    rows = []
    for item in items[:limit]:
        cells = []
        for col in columns:
            value = item.get(col)
            if isinstance(value, str) and col.endswith(("_at", "time", "date")):
                cells.append(fmt_time(value))
            else:
                cells.append(fmt_value(value))
        rows.append(Row(cells=cells))
    return columns, rows


class AuthState(rx.State):
    """Who is logged in. The gateway cookie and CSRF token never leave the backend."""

    _gw_cookie: str = ""
    _csrf: str = ""
    username: str = ""
    auth_mode: str = ""
    app_name: str = "Comradarr"
    login_username: str = ""
    login_password: str = ""
    login_error: str = ""
    busy: bool = False
    setup_username: str = ""
    setup_password: str = ""
    setup_confirm: str = ""
    setup_error: str = ""
    gateway_down: str = ""
    _handoff: str = ""

    @rx.var
    def logged_in(self) -> bool:
        return bool(self.username)

    def _auth(self) -> AuthState:
        """The AuthState instance itself: backend vars are not shared with substates."""
        state: Any = self
        while type(state) is not AuthState:
            state = state.parent_state
        return state

    def _authed(self) -> bool:
        return bool(self._auth()._gw_cookie)

    def _session(self) -> api.Session:
        auth = self._auth()
        return api.Session(
            cookie=auth._gw_cookie,
            csrf=auth._csrf,
            client_ip=self._client_ip(),
            user_agent=self._user_agent(),
        )

    def _anonymous(self) -> api.Session:
        """Who is asking, before there is a gateway session (setup, login)."""
        return api.Session(client_ip=self._client_ip(), user_agent=self._user_agent())

    def _user_agent(self) -> str:
        # The browser's, so the session list can say which device each session is.
        return str(self.router.headers.user_agent or "")[:256]

    def _client_ip(self) -> str:
        """The X-Forwarded-For chain for the gateway: what reached the UI, then its peer.

        The gateway walks it from the right through its trusted proxies only, so a reverse
        proxy in front of the UI (BASE_URL) passes the browser's address on, and a header
        a client made up stops at that client (the rule lives in the gateway alone).
        """
        peer = str(self.router.session.client_ip or "")
        forwarded = str(self.router.headers.raw_headers.get("x-forwarded-for", "")).strip()
        return f"{forwarded}, {peer}" if forwarded and peer else peer

    def _forget(self) -> None:
        auth = self._auth()
        auth._gw_cookie = ""
        auth._csrf = ""
        auth.username = ""
        auth.auth_mode = ""

    def _login_redirect(self) -> rx.event.EventSpec:
        path = app_path(self.router.url.path)
        query = self.router.url.query
        here = f"{path}?{query}" if query else path
        return rx.redirect(f"/login?next={quote(safe_next(here), safe='')}")

    async def _gw(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the gateway as this browser session's user."""
        body, _ = await api.call(method, path, session=self._session(), **kwargs)
        return body

    @rx.event
    def set_login_username(self, value: str) -> None:
        self.login_username = value

    @rx.event
    def set_login_password(self, value: str) -> None:
        self.login_password = value

    @rx.event
    def set_setup_username(self, value: str) -> None:
        self.setup_username = value

    @rx.event
    def set_setup_password(self, value: str) -> None:
        self.setup_password = value

    @rx.event
    def set_setup_confirm(self, value: str) -> None:
        self.setup_confirm = value

    @rx.event
    async def require_auth(self):
        """on_load of every private page: unauthenticated → /login?next=<this page>."""
        if not self._authed():
            return self._login_redirect()
        return None

    async def _setup_required(self) -> bool | None:
        try:
            body, _ = await api.call("GET", "/setup/status", session=self._anonymous())
        except api.GatewayError as exc:
            self.gateway_down = exc.message if exc.status == 0 else ""
            return None
        self.gateway_down = ""
        if isinstance(body, dict) and body.get("app_name"):
            self._auth().app_name = str(body["app_name"])
        return bool(isinstance(body, dict) and body.get("setup_required"))

    async def _adopt(self) -> bool:
        """Take over the browser's session cookie (a new tab, or the UI restarted)."""
        cookie = session.from_cookie_header(self.router.headers.cookie)
        if not cookie:
            return False
        try:
            me, _ = await api.call(
                "GET",
                "/auth/me",
                session=api.Session(cookie=cookie, client_ip=self._client_ip()),
            )
        except api.GatewayError:
            return False
        if not isinstance(me, dict) or me.get("auth_mode") != "session":
            return False
        self._gw_cookie = cookie
        self._csrf = str(me.get("csrf_token") or "")
        self.username = str(me.get("username") or "")
        self.auth_mode = "session"
        return True

    @rx.event
    async def load_login(self):
        self.login_error = ""
        self.login_password = ""
        if self._gw_cookie or await self._adopt():
            return rx.redirect(self._next())
        if await self._setup_required():
            return rx.redirect("/setup")
        if session.from_cookie_header(self.router.headers.cookie):
            return rx.call_script(session.clear_script())  # expired or revoked: forget it
        return None

    @rx.event
    async def load_setup(self):
        self.setup_error = ""
        required = await self._setup_required()
        if required is False:
            return rx.redirect("/login")
        return None

    def _next(self) -> str:
        return safe_next(self.router.url.query_parameters.get("next", "/"))

    async def _login(self, username: str, password: str) -> str:
        """Log in at the gateway; '' on success, else the message to show."""
        try:
            body, resp = await api.call(
                "POST",
                "/auth/login",
                session=self._anonymous(),
                json={"username": username, "password": password},
            )
        except api.Unauthorized:
            return "Wrong username or password."
        except api.GatewayError as exc:
            return exc.message
        cookie = api.session_cookie_from(resp)
        if not cookie:
            return "The gateway did not start a session."
        body = body if isinstance(body, dict) else {}
        self._gw_cookie = cookie
        self._handoff = session.handoff(cookie)
        self._csrf = str(body.get("csrf_token", ""))
        self.username = str(body.get("username") or username)
        with contextlib.suppress(api.GatewayError):
            me = await self._gw("GET", "/auth/me")
            if isinstance(me, dict):
                self._csrf = str(me.get("csrf_token") or self._csrf)
                self.auth_mode = str(me.get("auth_mode") or "")
        return ""

    @rx.event
    async def submit_login(self, form: dict[str, Any] | None = None):
        username = (form or {}).get("username") or self.login_username
        password = (form or {}).get("password") or self.login_password
        if not username or not password:
            self.login_error = "Enter your username and password."
            return
        self.busy = True
        yield
        error = await self._login(str(username).strip(), str(password))
        self.busy = False
        self.login_password = ""
        if error:
            self.login_error = error
            return
        self.login_error = ""
        # The browser keeps the session as an HttpOnly cookie, for other tabs and restarts.
        yield rx.call_script(session.claim_script(self._handoff))
        yield rx.redirect(self._next())

    @rx.event
    async def submit_setup(self, form: dict[str, Any] | None = None):
        username = str((form or {}).get("username") or self.setup_username).strip()
        password = str((form or {}).get("password") or self.setup_password)
        confirm = str((form or {}).get("confirm") or self.setup_confirm)
        if not username or not password:
            self.setup_error = "Choose a username and a password."
            return
        if password != confirm:
            self.setup_error = "The two passwords differ."
            return
        self.busy = True
        yield
        try:
            await api.call(
                "POST",
                "/setup",
                session=self._anonymous(),
                json={"username": username, "password": password},
            )
        except api.GatewayError as exc:
            self.busy = False
            self.setup_error = exc.message
            return
        error = await self._login(username, password)
        self.busy = False
        self.setup_password = self.setup_confirm = ""
        if error:
            self.setup_error = error
            return
        yield rx.call_script(session.claim_script(self._handoff))
        yield rx.redirect("/")

    @rx.event
    async def logout(self):
        with contextlib.suppress(api.GatewayError):
            await self._gw("POST", "/auth/logout")
        self._forget()
        return [rx.call_script(session.clear_script()), rx.redirect("/login")]

    async def _guarded(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like _gw, but a 401 logs the browser out (the caller returns _login_redirect)."""
        try:
            return await self._gw(method, path, **kwargs)
        except api.Unauthorized:
            self._forget()
            raise

    async def _sync_now(self, connector_id: int, mode: str) -> Any:
        """Ask for a sweep; a toast says it started, or why it would not (the sync's reason)."""
        try:
            await self._guarded("POST", f"/connectors/{connector_id}/sync", json={"mode": mode})
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            return rx.toast.warning(exc.message.removeprefix("sweep not started: ").capitalize())
        return rx.toast.success(f"{mode.capitalize()} sync started")


class ConnectorsState(AuthState):
    connectors: list[ConnectorRow] = []
    list_error: str = ""
    list_unavailable: bool = False
    loading: bool = False
    confirm_delete: int = 0
    confirm_delete_name: str = ""
    confirm_delete_schedules: int = 0

    @rx.event
    async def sync_now(self, connector_id: int, mode: str):
        return await self._sync_now(connector_id, mode)

    @rx.event
    async def ask_delete(self, connector_id: int, name: str):
        """Open the confirmation, saying how many schedules go with the connector."""
        self.confirm_delete, self.confirm_delete_name = connector_id, name
        try:
            body = await self._guarded("GET", "/schedules", params={"connector_id": connector_id})
            self.confirm_delete_schedules = len(api.items_of(body))
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError:
            self.confirm_delete_schedules = 0
        return None

    @rx.event
    def cancel_delete(self) -> None:
        self.confirm_delete = 0

    @rx.event
    async def delete(self):
        connector_id, name = self.confirm_delete, self.confirm_delete_name
        self.confirm_delete = 0
        if not connector_id:
            return None
        try:
            await self._guarded("DELETE", f"/connectors/{connector_id}")
            await self._fetch_connectors()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            return rx.toast.error(f"Not deleted: {exc.message}")
        if (self.router.url.path or "").rstrip("/") == "/connector":
            return [rx.toast.success(f"{name} deleted"), rx.redirect("/connectors")]
        return rx.toast.success(f"{name} deleted")

    async def _fetch_connectors(self) -> None:
        try:
            body = await self._guarded("GET", "/connectors")
        except api.NotAvailable:
            self.list_unavailable = True
            self.connectors = []
            return
        self.list_unavailable = False
        self.list_error = ""
        self.connectors = [connector_row(c) for c in api.items_of(body)]

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self.loading = True
        try:
            await self._fetch_connectors()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.list_error = exc.message
        finally:
            self.loading = False
        return None

    @rx.event
    async def toggle_enabled(self, connector_id: int, enabled: bool):
        action = "enable" if enabled else "disable"
        try:
            await self._guarded("POST", f"/connectors/{connector_id}/{action}")
            await self._fetch_connectors()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            return rx.toast.error(f"Could not {action}: {exc.message}")
        return None


class ConnectorFormState(AuthState):
    edit_id: int = 0
    f_name: str = ""
    f_type: str = "sonarr"
    f_url: str = ""
    f_key: str = ""
    f_verify: bool = True
    f_timeout: str = "30"
    f_profile: str = DEFAULT_PROFILE
    profile_opts: list[Choice] = []
    key_hint: str = ""
    test_state: str = ""  # "", "running", "ok", "error"
    test_message: str = ""
    save_error: str = ""
    saving: bool = False
    planned: list[str] = []
    duplicate: bool = False

    @rx.event
    def set_f_name(self, v: str) -> None:
        self.f_name = v

    @rx.event
    async def set_f_type(self, v: str):
        self.f_type = v
        await self._plan()

    async def _plan(self) -> None:
        """The schedules saving will create, in words (none for Prowlarr)."""
        if self.edit_id:
            self.planned = []
            return
        try:
            body = await self._guarded(
                "GET", "/connectors/default-schedules", params={"type": self.f_type}
            )
        except api.GatewayError:
            self.planned = []
            return
        self.planned = [
            f"{p.get('name')}: {p.get('description')} ({p.get('timezone')})"
            for p in api.items_of(body)
        ]

    @rx.event
    def set_f_url(self, v: str) -> None:
        self.f_url = v
        self.test_state = ""
        self.duplicate = False

    @rx.event
    def set_f_key(self, v: str) -> None:
        self.f_key = v
        self.test_state = ""

    @rx.event
    def set_f_verify(self, v: bool) -> None:
        self.f_verify = v

    @rx.event
    def set_f_timeout(self, v: str) -> None:
        self.f_timeout = v

    @rx.event
    def set_f_profile(self, v: str) -> None:
        self.f_profile = v

    def _reset(self) -> None:
        self.edit_id = 0
        self.f_name = self.f_url = self.f_key = self.key_hint = ""
        self.f_type = "sonarr"
        self.f_verify = True
        self.f_timeout = "30"
        self.f_profile = DEFAULT_PROFILE
        self.test_state = self.test_message = self.save_error = ""
        self.saving = False
        self.duplicate = False

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self._reset()
        raw_id = self.router.url.query_parameters.get("id", "")
        if raw_id.isdigit():
            try:
                c = await self._guarded("GET", f"/connectors/{raw_id}")
            except api.Unauthorized:
                return self._login_redirect()
            except api.GatewayError as exc:
                self.save_error = exc.message
                return None
            row = connector_row(c if isinstance(c, dict) else {})
            self.edit_id = row.id
            self.f_name, self.f_type, self.f_url = row.name, row.type or "sonarr", row.url
            self.f_verify, self.f_timeout = row.verify_ssl, row.timeout
            self.key_hint = f"Stored key {row.key_masked}; leave empty to keep it."
            own = c.get("throttle_profile_id") if isinstance(c, dict) else None
            self.f_profile = str(own) if own else DEFAULT_PROFILE
        try:
            profiles = api.items_of(await self._guarded("GET", "/throttle-profiles"))
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError:
            profiles = []
        self.profile_opts = profile_choices(profiles)
        try:
            await self._plan()
        except api.Unauthorized:
            return self._login_redirect()
        return None

    def _timeout(self) -> float | None:
        try:
            value = float(self.f_timeout)
        except ValueError:
            return None
        return value if 0 < value <= 300 else None

    def _validate(self, need_key: bool) -> str:
        if not self.f_url.strip().lower().startswith(("http://", "https://")):
            return "The URL must start with http:// or https://."
        if need_key and not self.f_key.strip():
            return "Enter the API key (Settings → General in the *arr app)."
        if self._timeout() is None:
            return "The timeout must be a number of seconds between 1 and 300."
        return ""

    @rx.event
    async def test_connection(self):
        problem = self._validate(need_key=not self.edit_id)
        if problem:
            self.test_state, self.test_message = "error", problem
            return
        self.test_state, self.test_message = "running", "Testing…"
        yield
        try:
            if self.edit_id and not self.f_key.strip():
                body = await self._guarded("POST", f"/connectors/{self.edit_id}/test")
            else:
                payload = {
                    "type": self.f_type,
                    "url": self.f_url.strip(),
                    "api_key": self.f_key.strip(),
                    "verify_ssl": self.f_verify,
                    "timeout": min(self._timeout() or 10.0, 60.0),
                }
                body = await self._guarded("POST", "/connectors/test", json=payload, timeout=60)
        except api.Unauthorized:
            yield self._login_redirect()
            return
        except api.NotAvailable:
            self.test_state, self.test_message = "error", "Testing is not available yet."
            return
        except api.GatewayError as exc:
            self.test_state, self.test_message = "error", exc.message
            return
        ok, message = _test_outcome(body)
        self.test_state = "ok" if ok else "error"
        self.test_message = message

    @rx.event
    async def save_anyway(self):
        """Save although a connector of this type already has the URL (asked first)."""
        async for step in self._save(confirm_duplicate=True):
            yield step

    @rx.event
    async def save(self):
        async for step in self._save(confirm_duplicate=False):
            yield step

    async def _save(self, *, confirm_duplicate: bool):
        problem = self._validate(need_key=not self.edit_id)
        if not self.f_name.strip():
            problem = problem or "Give the connector a name."
        if problem:
            self.save_error = problem
            return
        self.saving = True
        self.save_error = ""
        yield
        payload: dict[str, Any] = {
            "name": self.f_name.strip(),
            "type": self.f_type,
            "url": self.f_url.strip(),
            "verify_ssl": self.f_verify,
            "timeout_seconds": self._timeout(),
            "throttle_profile_id": int(self.f_profile) if self.f_profile.isdigit() else None,
        }
        if self.f_key.strip():
            payload["api_key"] = self.f_key.strip()
        try:
            if self.edit_id:
                payload.pop("type")
                body = await self._guarded("PATCH", f"/connectors/{self.edit_id}", json=payload)
            else:
                payload["confirm_duplicate"] = confirm_duplicate
                # Saving tests the connection first (bounded by the timeout).
                body = await self._guarded("POST", "/connectors", json=payload, timeout=150)
        except api.Unauthorized:
            yield self._login_redirect()
            return
        except api.GatewayError as exc:
            self.saving = False
            self.duplicate = exc.status == 409 and "already uses this URL" in exc.message
            self.save_error = exc.message
            return
        self.saving = False
        self.duplicate = False
        self.f_key = ""
        body = body if isinstance(body, dict) else {}
        new_id = body.get("id")
        if self.edit_id:
            yield rx.toast.success("Connector saved")
        elif body.get("first_sweep"):
            yield rx.toast.success("Connector saved: its first full sync has started")
        else:
            note = body.get("first_sweep_note") or "no sync started"
            yield rx.toast.warning(f"Connector saved; {note}")
        yield rx.redirect(f"/connector?id={new_id}" if new_id else "/connectors")


def _test_outcome(body: Any) -> tuple[bool, str]:
    """(ok, message) from a test response, whatever its exact shape."""
    if not isinstance(body, dict):
        return True, "Connection succeeded."
    ok = body.get("ok", body.get("success"))
    if ok is None:
        status = str(body.get("status", "")).lower()
        ok = status in ("ok", "healthy", "success", "succeeded", "passed") if status else True
    if ok:
        bits = [body.get("app_name"), body.get("app_version") or body.get("version")]
        what = " ".join(str(b) for b in bits if b)
        return True, f"Connection succeeded{': ' + what if what else '.'}"
    category = body.get("error")
    message = body.get("message") or body.get("detail") or category or "failed"
    status = body.get("status_code")
    prefix = f"{category}: " if category and category != message else ""
    suffix = f" (HTTP {status})" if status else ""
    return False, f"{prefix}{message}{suffix}"


# What the connector detail shows of each record, with labels in words.
HEALTH_COLUMNS = [("checked_at", "Checked"), ("status", "Status"), ("messages", "Details")]
SYNC_COLUMNS = [
    ("started_at", "Started"),
    ("mode", "Kind"),
    ("outcome", "Outcome"),
    ("fetched", "Read"),
    ("inserted", "New"),
    ("updated", "Changed"),
    ("deleted", "Gone"),
    ("error", "Problem"),
]
STAT_LABELS = {
    "health_checks": "Health checks",
    "sync_runs": "Syncs",
    "last_sync_at": "Last sync",
    "series": "Series mirrored",
    "seasons": "Seasons mirrored",
    "episodes": "Episodes mirrored",
    "movies": "Movies mirrored",
    "search_registry": "Queue entries",
}


def local_time(value: Any, tz: str) -> str:
    """An ISO time shown in the configured time zone ('YYYY-MM-DD HH:MM')."""
    if not value:
        return "—"
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    except (ValueError, KeyError):
        return str(value)


def labelled_rows(
    items: list[dict[str, Any]], columns: list[tuple[str, str]], tz: str
) -> list[Row]:
    """Rows of the given columns: times in tz, lists joined, values in words."""
    rows = []
    for item in items[:50]:
        cells = []
        for key, _ in columns:
            value = item.get(key)
            if key.endswith("_at"):
                cells.append(local_time(value, tz))
            elif isinstance(value, list):
                cells.append("; ".join(str(v) for v in value) or "—")
            else:
                cells.append(fmt_value(value).replace("_", " "))
        rows.append(Row(cells=cells))
    return rows


class ConnectorDetailState(AuthState):
    c: ConnectorRow = ConnectorRow()
    health_cols: list[str] = [label for _, label in HEALTH_COLUMNS]
    health_rows: list[Row] = []
    health_note: str = ""
    sync_cols: list[str] = [label for _, label in SYNC_COLUMNS]
    sync_rows: list[Row] = []
    sync_note: str = ""
    stats: list[KV] = []
    stats_note: str = ""
    detail_error: str = ""
    timezone: str = "UTC"

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self.detail_error = ""
        raw_id = self.router.url.query_parameters.get("id", "")
        if not raw_id.isdigit():
            self.detail_error = "No connector chosen."
            return None
        try:
            c = await self._guarded("GET", f"/connectors/{raw_id}")
            settings = await self._guarded("GET", "/settings")
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.detail_error = exc.message
            return None
        general = settings.get("general") if isinstance(settings, dict) else None
        tz = str((general or {}).get("timezone") or "UTC")
        self.timezone = tz
        self.c = connector_row(c if isinstance(c, dict) else {})
        self.c.checked_at = local_time((c or {}).get("health_checked_at"), tz)
        self.health_rows, self.health_note = await self._rows(
            f"/connectors/{raw_id}/health", HEALTH_COLUMNS, tz
        )
        self.sync_rows, self.sync_note = await self._rows(
            f"/connectors/{raw_id}/sync-runs", SYNC_COLUMNS, tz
        )
        try:
            body = await self._guarded("GET", f"/connectors/{raw_id}/stats")
            body = body if isinstance(body, dict) else {}
            items = body.get("items") if isinstance(body.get("items"), dict) else {}
            values = {**{k: v for k, v in body.items() if k in STAT_LABELS}, **items}
            self.stats = [
                KV(
                    key=STAT_LABELS.get(k, k.replace("_", " ").capitalize()),
                    value=local_time(v, tz)
                    if k.endswith("_at")
                    else f"{v:,}"
                    if isinstance(v, int)
                    else fmt_value(v),
                )
                for k, v in values.items()
            ]
            self.stats_note = "" if self.stats else "No statistics yet."
        except api.NotAvailable:
            self.stats, self.stats_note = [], "Statistics are not available yet."
        except api.GatewayError as exc:
            self.stats, self.stats_note = [], exc.message
        return None

    async def _rows(
        self, path: str, columns: list[tuple[str, str]], tz: str
    ) -> tuple[list[Row], str]:
        try:
            body = await self._guarded("GET", path)
        except api.NotAvailable:
            return [], "Not available yet."
        except api.Unauthorized:
            raise
        except api.GatewayError as exc:
            return [], exc.message
        items = api.items_of(body)
        if not items and isinstance(body, dict):
            items = api.items_of(body.get("history")) or []
        rows = labelled_rows(items, columns, tz)
        return rows, "" if rows else "Nothing recorded yet."


class SettingsState(AuthState):
    settings: list[SettingRow] = []
    settings_note: str = ""
    settings_msg: str = ""
    current_password: str = ""
    _original: dict[str, Any] = {}

    @rx.event
    def set_current_password(self, v: str) -> None:
        self.current_password = v

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self.settings_msg = ""
        try:
            body = await self._guarded("GET", "/settings")
        except api.Unauthorized:
            return self._login_redirect()
        except api.NotAvailable:
            self.settings, self.settings_note = [], "Settings are not available yet."
            return None
        except api.GatewayError as exc:
            self.settings, self.settings_note = [], exc.message
            return None
        flat = flatten(body if isinstance(body, dict) else {})
        self._original = flat
        rows = []
        for key, value in flat.items():
            if isinstance(value, bool):
                rows.append(
                    SettingRow(
                        key=key, label=_label(key), value="true" if value else "false", kind="bool"
                    )
                )
            elif isinstance(value, int | float):
                rows.append(SettingRow(key=key, label=_label(key), value=str(value), kind="number"))
            elif key in CHOICES:
                rows.append(
                    SettingRow(
                        key=key,
                        label=_label(key),
                        value=str(value or ""),
                        kind="choice",
                        options=CHOICES[key],
                    )
                )
            elif isinstance(value, str) or value is None:
                rows.append(SettingRow(key=key, label=_label(key), value=value or "", kind="str"))
        self.settings = rows
        self.settings_note = "" if rows else "Nothing to set yet."
        return None

    @rx.event
    def set_setting(self, key: str, value: str | bool) -> None:
        if isinstance(value, bool):
            value = "true" if value else "false"
        self.settings = [
            SettingRow(key=r.key, label=r.label, value=value, kind=r.kind, options=r.options)
            if r.key == key
            else r
            for r in self.settings
        ]

    @rx.event
    async def save(self):
        changes: dict[str, Any] = {}
        for r in self.settings:
            old = self._original.get(r.key)
            if r.kind == "bool":
                new: Any = r.value == "true"
            elif r.kind == "number":
                try:
                    new = int(r.value) if isinstance(old, int) else float(r.value)
                except ValueError:
                    self.settings_msg = f"{r.key} must be a number."
                    return None
            else:
                new = r.value
            if new != old:
                changes[r.key] = new
        if not changes:
            self.settings_msg = "Nothing changed."
            return None
        patch: dict[str, Any] = {}
        for dotted, value in changes.items():
            node = patch
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        if any(k.startswith("security.") for k in changes):
            if not self.current_password:
                self.settings_msg = "Security settings need your current password."
                return None
            patch["current_password"] = self.current_password
        try:
            await self._guarded("PATCH", "/settings", json=patch)
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.settings_msg = f"Not saved: {exc.message}"
            return None
        self.settings_msg = "Saved."
        self.current_password = ""
        self._original = {**self._original, **changes}
        if "general.app_name" in changes:
            self._auth().app_name = str(changes["general.app_name"])
        return rx.toast.success("Settings saved")


class ApiKeysState(AuthState):
    keys: list[ApiKeyRow] = []
    keys_note: str = ""
    new_name: str = ""
    new_scope: str = "read"
    new_key: str = ""
    keys_error: str = ""
    confirm_id: str = ""
    new_rate: str = ""

    @rx.event
    def set_new_name(self, v: str) -> None:
        self.new_name = v

    @rx.event
    def set_new_rate(self, v: str) -> None:
        self.new_rate = v

    @rx.event
    def set_new_scope(self, v: str) -> None:
        self.new_scope = v

    async def _fetch(self) -> None:
        try:
            body = await self._guarded("GET", "/api-keys")
        except api.NotAvailable:
            self.keys, self.keys_note = [], "API keys are not available yet."
            return
        self.keys = [
            ApiKeyRow(
                id=str(k.get("id", "")),
                name=str(k.get("description") or k.get("name") or ""),
                scope=str(k.get("scope") or ""),
                masked=str(k.get("prefix") or k.get("key_masked") or "") + "…",
                created=fmt_time(k.get("created_at")),
                last_used=fmt_time(k.get("last_used_at")),
                rate=f"{k.get('effective_rate_per_minute', '')}/min"
                + ("" if k.get("rate_per_minute") else " (default)"),
            )
            for k in api.items_of(body)
        ]
        self.keys_note = "" if self.keys else "No API keys yet."

    @rx.event
    async def load(self):
        if not self._authed():
            return self._login_redirect()
        self.new_key = self.keys_error = self.confirm_id = ""
        try:
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.keys_note = exc.message
        return None

    @rx.event
    async def create(self):
        name = self.new_name.strip()
        if not name:
            self.keys_error = "Give the key a name."
            return None
        request: dict[str, Any] = {"description": name, "scope": self.new_scope}
        if self.new_rate.strip():
            try:
                request["rate_per_minute"] = int(self.new_rate)
            except ValueError:
                self.keys_error = "Requests per minute must be a whole number."
                return None
        try:
            body = await self._guarded("POST", "/api-keys", json=request)
            self.new_key = str(
                (body or {}).get("key") or (body or {}).get("api_key") or (body or {}).get("token")
            )
            self.new_name = self.keys_error = self.new_rate = ""
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.keys_error = exc.message
        return None

    @rx.event
    def ask_revoke(self, key_id: str) -> None:
        self.confirm_id = key_id

    @rx.event
    async def revoke(self, key_id: str):
        try:
            await self._guarded("DELETE", f"/api-keys/{key_id}")
            self.confirm_id = ""
            await self._fetch()
        except api.Unauthorized:
            return self._login_redirect()
        except api.GatewayError as exc:
            self.keys_error = exc.message
        return None

    @rx.event
    def dismiss_key(self) -> None:
        self.new_key = ""
