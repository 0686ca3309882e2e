"""The UI's only way out: the gateway REST API (``COMRADARR_GATEWAY_URL``, prefix /api/v1).

The Reflex backend calls the gateway on behalf of each browser session. The gateway's session
cookie and CSRF token live in backend-only state (never sent to the browser) and are passed
in explicitly on every call; nothing here logs them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import httpx

SESSION_COOKIE = "comradarr_session"
PREFIX = "/api/v1"


def gateway_url() -> str:
    """Base URL of the gateway (no trailing slash)."""
    return os.environ.get("COMRADARR_GATEWAY_URL", "http://127.0.0.1:8000").rstrip("/")


class GatewayError(Exception):
    """The gateway answered with an error, or could not be reached."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Unauthorized(GatewayError):
    """401: no valid session (or it expired)."""


class NotAvailable(GatewayError):
    """404/405 on a collection route: the gateway does not offer this yet."""


@dataclass
class Session:
    """What the Reflex backend holds for one browser session."""

    cookie: str = ""
    csrf: str = ""
    # The browser's address as Reflex saw it (after any X-Forwarded-For that reached the UI).
    # Sent as X-Forwarded-For (the gateway trusts loopback as a proxy): without it every UI
    # user would look like this local process, which local-bypass mode would let in and
    # per-address login limits would lump together.
    client_ip: str = ""
    # The browser's User-Agent, so the gateway's session list names the device.
    user_agent: str = ""


def request_headers(method: str, session: Session | None) -> dict[str, str]:
    """Headers of a gateway call made on behalf of a browser session."""
    headers = {"Accept": "application/json"}
    if session is None:
        return headers
    if session.client_ip:
        headers["X-Forwarded-For"] = session.client_ip
    if session.user_agent:
        headers["User-Agent"] = session.user_agent
    if session.cookie:
        headers["Cookie"] = f"{SESSION_COOKIE}={session.cookie}"
        if method.upper() not in ("GET", "HEAD", "OPTIONS") and session.csrf:
            headers["X-CSRF-Token"] = session.csrf
    return headers


_PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Input should be a valid integer.*"), "a whole number, please"),
    (re.compile(r"^Input should be a valid number.*"), "a number, please"),
    (re.compile(r"^Input should be a valid boolean.*"), "yes or no, please"),
    (re.compile(r"^Input should be greater than or equal to (.+)$"), r"at least \1"),
    (re.compile(r"^Input should be greater than (.+)$"), r"more than \1"),
    (re.compile(r"^Input should be less than or equal to (.+)$"), r"at most \1"),
    (re.compile(r"^Input should be less than (.+)$"), r"less than \1"),
    (re.compile(r"^String should have at most (\d+) characters?$"), r"at most \1 characters"),
    (re.compile(r"^String should have at least (\d+) characters?$"), r"at least \1 characters"),
    (re.compile(r"^Field required$"), "required"),
    (re.compile(r"^Extra inputs are not permitted$"), "not a setting this version knows"),
    (re.compile(r"^Value error, (.+)$"), r"\1"),
]


def in_words(loc: list[Any], msg: str) -> str:
    """One validation error as a person reads it: 'Log level: choose trace, debug or info'
    instead of 'general.log_level: Input should be ...'."""
    names = [str(x) for x in loc if not isinstance(x, int) and x not in ("body", "query")]
    label = names[-1].replace("_", " ").capitalize() if names else ""
    text = msg.strip()
    choice = re.match(r"^Input should be (('[^']*'(, | or )?)+)$", text)
    if choice:
        options = re.findall(r"'([^']*)'", choice.group(1))
        text = "choose " + (", ".join(options[:-1]) + " or " + options[-1] if options else "")
    else:
        for pattern, words in _PHRASES:
            if pattern.match(text):
                text = pattern.sub(words, text)
                break
    return f"{label}: {text}" if label else text


def _detail(resp: httpx.Response) -> str:
    """The most precise human message an error response carries."""
    try:
        body = resp.json()
    except ValueError:
        text = resp.text.strip()
        return text[:300] if text else f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        detail = body.get("detail", body.get("message", body.get("error")))
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if isinstance(item, dict):
                    loc = item.get("loc", [])
                    parts.append(
                        in_words(loc if isinstance(loc, list) else [], str(item.get("msg", "")))
                    )
                else:
                    parts.append(str(item))
            return "; ".join(parts) or f"HTTP {resp.status_code}"
        if isinstance(detail, dict):
            return str(detail.get("message") or detail)
        if detail:
            return str(detail)
    return f"HTTP {resp.status_code}"


def session_cookie_from(resp: httpx.Response) -> str:
    """The gateway session cookie set by a response ('' when none)."""
    for header in resp.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except Exception:  # noqa: S112 - a malformed cookie header is just ignored
            continue
        morsel = jar.get(SESSION_COOKIE)
        if morsel is not None and morsel.value:
            return morsel.value
    return ""


async def call(
    method: str,
    path: str,
    *,
    session: Session | None = None,
    json: Any = None,
    params: dict[str, Any] | None = None,
    timeout: float = 20.0,
) -> tuple[Any, httpx.Response]:
    """Call the gateway; returns (decoded JSON or None, response). Raises GatewayError."""
    headers = request_headers(method, session)
    try:
        async with httpx.AsyncClient(base_url=gateway_url(), timeout=timeout) as client:
            resp = await client.request(
                method, PREFIX + path, headers=headers, json=json, params=params
            )
    except httpx.TimeoutException:
        raise GatewayError(0, "the gateway did not answer in time") from None
    except httpx.HTTPError as exc:
        raise GatewayError(0, f"cannot reach the gateway ({type(exc).__name__})") from None
    if resp.status_code == 401:
        raise Unauthorized(401, _detail(resp))
    if resp.status_code in (404, 405, 501) and _is_route_missing(resp):
        raise NotAvailable(resp.status_code, "not available yet")
    if resp.status_code >= 400:
        raise GatewayError(resp.status_code, _detail(resp))
    if resp.status_code == 204 or not resp.content:
        return None, resp
    try:
        return resp.json(), resp
    except ValueError:
        return None, resp


def _is_route_missing(resp: httpx.Response) -> bool:
    """FastAPI's own 404 for an unknown route says exactly 'Not Found'."""
    if resp.status_code in (405, 501):
        return True
    try:
        body = resp.json()
    except ValueError:
        return True
    return isinstance(body, dict) and body.get("detail") == "Not Found"


def items_of(body: Any) -> list[dict[str, Any]]:
    """A list endpoint's items, whether it answers a bare list or {items|results|data: [...]}."""
    if isinstance(body, list):
        return [x for x in body if isinstance(x, dict)]
    if isinstance(body, dict):
        for key in ("items", "results", "data", "records", "connectors", "runs", "history"):
            value = body.get(key)
            if isinstance(value, list):
                return [x for x in value if isinstance(x, dict)]
    return []
