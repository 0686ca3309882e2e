"""Channel kinds: the typed forms of the eight named services, and the Apprise URL each builds.

"apprise" takes any Apprise URL as it is, for the many other services Apprise supports.
Every builder validates its fields and raises ValueError with a message for the user.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode, urlsplit

ChannelKind = Literal[
    "discord", "telegram", "slack", "pushover", "gotify", "ntfy", "email", "webhook", "apprise"
]


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of a kind's form."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    placeholder: str = ""
    default: str = ""
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True, slots=True)
class KindSpec:
    """A channel kind: its label, its form and how the form becomes an Apprise URL."""

    kind: ChannelKind
    label: str
    fields: tuple[FormField, ...]
    build: Callable[[Mapping[str, str]], str]

    @property
    def secret_fields(self) -> frozenset[str]:
        """Names of the fields that are secrets (masked in every response)."""
        return frozenset(f.name for f in self.fields if f.secret)


def _q(value: str) -> str:
    return quote(value, safe="")


def _need(fields: Mapping[str, str], name: str, label: str) -> str:
    value = (fields.get(name) or "").strip()
    if not value:
        raise ValueError(f"{label} is required")
    return value


def _server(value: str, label: str, plain: str, tls: str) -> tuple[str, str]:
    """(scheme, host[:port][/path]) from a server URL such as https://push.example.com."""
    parts = urlsplit(value if "://" in value else f"https://{value}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{label} must be an http(s) URL such as https://push.example.com")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"{label} must not contain credentials, a query or a fragment")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = parts.path.rstrip("/")
    return (tls if parts.scheme == "https" else plain), f"{netloc}{path}"


_DISCORD = re.compile(r"^https://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/(\d+)/([\w-]+)/?$")
_SLACK = re.compile(r"^https://hooks\.slack\.com/services/(\w+)/(\w+)/(\w+)/?$")
_TOKEN = re.compile(r"^[\w.:~-]+$")


def _token(value: str, label: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError(f"{label} has characters a token never has")
    return value


def _discord(f: Mapping[str, str]) -> str:
    url = _need(f, "webhook_url", "Webhook URL")
    m = _DISCORD.fullmatch(url)
    if m is None:
        raise ValueError(
            "Webhook URL must look like https://discord.com/api/webhooks/<id>/<token> "
            "(Server Settings → Integrations → Webhooks → Copy Webhook URL)"
        )
    query = {"botname": f["username"].strip()} if (f.get("username") or "").strip() else {}
    tail = f"?{urlencode(query)}" if query else ""
    return f"discord://{m.group(1)}/{m.group(2)}/{tail}"


def _telegram(f: Mapping[str, str]) -> str:
    token = _token(_need(f, "bot_token", "Bot token"), "Bot token")
    if ":" not in token:
        raise ValueError("Bot token must look like 123456789:AA... (from @BotFather)")
    chat = _need(f, "chat_id", "Chat id")
    if not re.fullmatch(r"-?\d+|@\w+", chat):
        raise ValueError("Chat id must be a number (e.g. -1001234567890) or @channelname")
    return f"tgram://{token}/{_q(chat)}/"


def _slack(f: Mapping[str, str]) -> str:
    m = _SLACK.fullmatch(_need(f, "webhook_url", "Webhook URL"))
    if m is None:
        raise ValueError(
            "Webhook URL must look like https://hooks.slack.com/services/T000/B000/XXXX"
        )
    return f"slack://{m.group(1)}/{m.group(2)}/{m.group(3)}/"


def _pushover(f: Mapping[str, str]) -> str:
    user = _token(_need(f, "user_key", "User key"), "User key")
    app = _token(_need(f, "app_token", "Application token"), "Application token")
    return f"pover://{user}@{app}/"


def _gotify(f: Mapping[str, str]) -> str:
    scheme, where = _server(_need(f, "server_url", "Server URL"), "Server URL", "gotify", "gotifys")
    token = _token(_need(f, "app_token", "Application token"), "Application token")
    priority = (f.get("priority") or "normal").strip()
    return f"{scheme}://{where}/{token}/?{urlencode({'priority': priority})}"


def _ntfy(f: Mapping[str, str]) -> str:
    server = (f.get("server_url") or "").strip() or "https://ntfy.sh"
    scheme, where = _server(server, "Server URL", "ntfy", "ntfys")
    topic = _need(f, "topic", "Topic")
    if not re.fullmatch(r"[\w-]{1,64}", topic):
        raise ValueError("Topic may hold letters, digits, - and _ only (at most 64)")
    query: dict[str, str] = {}
    token = (f.get("access_token") or "").strip()
    if token:
        query["token"] = _token(token, "Access token")
    tail = f"?{urlencode(query)}" if query else ""
    return f"{scheme}://{where}/{topic}/{tail}"


_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+$")
_SECURITY = {"starttls": "starttls", "ssl": "ssl", "none": "insecure"}


def _email(f: Mapping[str, str]) -> str:
    host = _need(f, "smtp_host", "SMTP server")
    if not re.fullmatch(r"[\w.-]+", host):
        raise ValueError("SMTP server must be a host name or an IPv4 address")
    port = (f.get("smtp_port") or "").strip() or "587"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("SMTP port must be a number from 1 to 65535")
    sender = _need(f, "from_address", "From")
    targets = [t.strip() for t in _need(f, "to_addresses", "To").split(",") if t.strip()]
    for address in [sender, *targets]:
        if not _EMAIL.fullmatch(address):
            raise ValueError(f"{address!r} is not an e-mail address")
    security = (f.get("security") or "starttls").strip()
    if security not in _SECURITY:
        raise ValueError("Security must be starttls, ssl or none")
    user = (f.get("username") or "").strip()
    password = f.get("password") or ""
    auth = f"{_q(user)}:{_q(password)}@" if user else ""
    scheme = "mailto" if security == "none" else "mailtos"
    query = urlencode({"from": sender, "to": ",".join(targets), "mode": _SECURITY[security]})
    return f"{scheme}://{auth}{host}:{port}?{query}"


def _webhook(f: Mapping[str, str]) -> str:
    scheme, where = _server(_need(f, "url", "URL"), "URL", "json", "jsons")
    return f"{scheme}://{where}"


def _apprise(f: Mapping[str, str]) -> str:
    url = _need(f, "url", "Apprise URL")
    if "://" not in url or any(c.isspace() for c in url):
        raise ValueError("an Apprise URL looks like service://... (see the Apprise wiki)")
    return url


KINDS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            "discord",
            "Discord",
            (
                FormField(
                    "webhook_url",
                    "Webhook URL",
                    secret=True,
                    placeholder="https://discord.com/api/webhooks/…",
                ),
                FormField("username", "Bot name", required=False, placeholder="Comradarr"),
            ),
            _discord,
        ),
        KindSpec(
            "telegram",
            "Telegram",
            (
                FormField("bot_token", "Bot token", secret=True, placeholder="123456789:AA…"),
                FormField("chat_id", "Chat id", placeholder="-1001234567890"),
            ),
            _telegram,
        ),
        KindSpec(
            "slack",
            "Slack",
            (
                FormField(
                    "webhook_url",
                    "Webhook URL",
                    secret=True,
                    placeholder="https://hooks.slack.com/services/…",
                ),
            ),
            _slack,
        ),
        KindSpec(
            "pushover",
            "Pushover",
            (
                FormField("user_key", "User key", secret=True),
                FormField("app_token", "Application token", secret=True),
            ),
            _pushover,
        ),
        KindSpec(
            "gotify",
            "Gotify",
            (
                FormField("server_url", "Server URL", placeholder="https://gotify.example.com"),
                FormField("app_token", "Application token", secret=True),
                FormField(
                    "priority",
                    "Priority",
                    required=False,
                    default="normal",
                    choices=("low", "moderate", "normal", "high", "emergency"),
                ),
            ),
            _gotify,
        ),
        KindSpec(
            "ntfy",
            "ntfy",
            (
                FormField("server_url", "Server URL", required=False, default="https://ntfy.sh"),
                FormField(
                    "topic",
                    "Topic",
                    secret=True,
                    help="On a public server the topic name is the password: make it long.",
                ),
                FormField("access_token", "Access token", secret=True, required=False),
            ),
            _ntfy,
        ),
        KindSpec(
            "email",
            "E-mail (SMTP)",
            (
                FormField("smtp_host", "SMTP server", placeholder="smtp.example.com"),
                FormField("smtp_port", "Port", required=False, default="587"),
                FormField(
                    "security",
                    "Security",
                    required=False,
                    default="starttls",
                    choices=("starttls", "ssl", "none"),
                ),
                FormField("username", "Username", required=False),
                FormField("password", "Password", secret=True, required=False),
                FormField("from_address", "From", placeholder="comradarr@example.com"),
                FormField("to_addresses", "To", placeholder="me@example.com, you@example.com"),
            ),
            _email,
        ),
        KindSpec(
            "webhook",
            "Webhook (JSON)",
            (
                FormField(
                    "url",
                    "URL",
                    secret=True,
                    placeholder="https://hooks.example.com/comradarr",
                    help="Receives a POST with {title, message, type} as JSON.",
                ),
            ),
            _webhook,
        ),
        KindSpec(
            "apprise",
            "Any Apprise URL",
            (
                FormField(
                    "url",
                    "Apprise URL",
                    secret=True,
                    placeholder="matrix://user:pass@hostname/#room",
                    help="Any of the services Apprise supports.",
                ),
            ),
            _apprise,
        ),
    )
}


def build_url(kind: str, fields: Mapping[str, str]) -> str:
    """The Apprise URL a kind's form describes (ValueError naming the field at fault)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown channel kind {kind!r} (known: {', '.join(KINDS)})")
    names = {f.name for f in spec.fields}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise ValueError(f"unknown field(s) for {kind}: {', '.join(unknown)}")
    return spec.build(fields)


def mask(secret: str) -> str:
    """Only the last four characters of a secret (the whole of a short one hidden)."""
    return f"****{secret[-4:]}" if len(secret) > 8 else "****"


def mask_url(url: str) -> str:
    """An Apprise URL as responses show it: its scheme and its last four characters."""
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://{mask(url)}"


def masked_fields(kind: str, fields: Mapping[str, str]) -> dict[str, str]:
    """The form's values with every secret masked (as responses show them)."""
    spec = KINDS.get(kind)
    secret = spec.secret_fields if spec is not None else frozenset(fields)
    return {k: (mask(v) if k in secret and v else v) for k, v in fields.items()}


def merge_fields(
    kind: str, incoming: Mapping[str, str], stored: Mapping[str, str] | None
) -> dict[str, str]:
    """An edited form: a secret left empty (or still masked) keeps its stored value."""
    spec = KINDS.get(kind)
    secret = spec.secret_fields if spec is not None else frozenset()
    merged = {k: v for k, v in incoming.items()}
    for name in secret:
        value = (merged.get(name) or "").strip()
        if (not value or value.startswith("****")) and stored and stored.get(name):
            merged[name] = stored[name]
    return merged
