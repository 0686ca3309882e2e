"""Sending through Apprise, off the event loop, bounded in time, with secrets scrubbed.

Apprise is imported on first use: loading its plugins takes most of a second, which a
service's start (or a gateway that never sends) should not pay.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

NotifyType = Literal["info", "success", "warning", "failure"]

# Apprise logs request URLs and payloads at debug level, and requests' urllib3 the paths
# it posts to: both may hold a channel's token. Their lines never reach our log output;
# each send collects Apprise's messages itself and scrubs them before showing them.
for _name in ("apprise", "urllib3"):
    _logger = logging.getLogger(_name)
    _logger.propagate = False
    _logger.addHandler(logging.NullHandler())


@dataclass(frozen=True, slots=True)
class SendResult:
    """What Apprise answered: success, and its messages with every secret scrubbed."""

    ok: bool
    detail: str
    elapsed_ms: int


@cache
def _apprise() -> Any:
    # Apprise's e-mail (PGP) support imports imghdr, deprecated since Python 3.11; load it
    # here once with that warning silenced (on 3.13+ Apprise installs its own shim).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with contextlib.suppress(ImportError):
            importlib.import_module("imghdr")
        import apprise

    return apprise


def secrets_of(url: str) -> list[str]:
    """The parts of an Apprise URL that may be secret (longest first, for scrubbing)."""
    parts: set[str] = {url}
    try:
        split = urlsplit(url)
    except ValueError:
        return [url]
    for value in (split.username, split.password):
        if value:
            parts.add(value)
            parts.add(unquote(value))
    for segment in split.path.split("/"):
        if segment:
            parts.add(segment)
            parts.add(unquote(segment))
    for _key, value in parse_qsl(split.query):
        if value:
            parts.add(value)
    # The host is named in messages on purpose; short values would scrub ordinary words.
    return sorted((p for p in parts if len(p) >= 4 and p != split.hostname), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """text with every secret replaced by ****."""
    for secret in secrets:
        text = text.replace(secret, "****")
    return text


def validate_url(url: str) -> None:
    """Raise ValueError unless Apprise understands url."""
    if _apprise().Apprise.instantiate(url, suppress_exceptions=True) is None:
        raise ValueError(
            "Apprise does not understand this URL: check the service prefix and its parts"
        )


def _send_blocking(url: str, title: str, body: str, notify_type: str, timeout: float) -> SendResult:
    apprise = _apprise()
    started = time.perf_counter()
    hidden = secrets_of(url)
    sender = apprise.Apprise()
    if not sender.add(url):
        return SendResult(False, "Apprise does not understand this URL", 0)
    try:
        result = sender.notify(
            body=body,
            title=title,
            notify_type=notify_type,
            timeout=timeout,
            log_level=logging.INFO,
        )
        ok = bool(result)
        lines = [
            str(e.message)
            for e in result.logs()
            if e.level in ("WARNING", "ERROR", "CRITICAL") or (ok and e.level == "INFO")
        ]
    except Exception as exc:  # a plugin bug must not take the sender down
        ok, lines = False, [f"{type(exc).__name__}: {exc}"]
    detail = "; ".join(line.strip() for line in lines if line.strip())
    if not ok and not detail:
        detail = "the service did not accept the notification"
    elapsed = int((time.perf_counter() - started) * 1000)
    return SendResult(ok, scrub(detail, hidden)[:1000], elapsed)


async def send(
    url: str,
    *,
    title: str,
    body: str,
    notify_type: NotifyType = "info",
    timeout: float = 20.0,
) -> SendResult:
    """Send one message to one Apprise URL, in a worker thread, within timeout seconds."""
    try:
        async with asyncio.timeout(timeout + 5):
            return await asyncio.to_thread(_send_blocking, url, title, body, notify_type, timeout)
    except TimeoutError:
        return SendResult(False, f"no answer within {timeout:g} s", int(timeout * 1000))
