"""Mapping of httpx failures and HTTP statuses to the domain errors."""

from __future__ import annotations

import email.utils
import socket
import ssl
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from comradarr_arr._errors import (
    ArrApplicationError,
    ArrAuthenticationError,
    ArrConnectionRefusedError,
    ArrDNSError,
    ArrHTTPError,
    ArrNetworkError,
    ArrNotFoundError,
    ArrRateLimitedError,
    ArrServerError,
    ArrTimeoutError,
    ArrTLSError,
)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _causes(exc: BaseException) -> list[BaseException]:
    # httpx wraps httpcore which wraps the OSError/SSLError: walk the whole chain.
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def map_transport_error(
    exc: httpx.TransportError,
    *,
    url: str,
    base_url: str,
    elapsed: float,
    timeout: float,
    connector: str,
    endpoint: str,
) -> ArrNetworkError:
    """Turn an httpx transport failure into a network error subclass with a human message."""
    where = dict(connector=connector, endpoint=endpoint)
    if isinstance(exc, httpx.TimeoutException):
        return ArrTimeoutError(
            f"no answer from {url} within {timeout:g}s (gave up after {elapsed:.2f}s)",
            elapsed=elapsed,
            **where,
        )
    chain = _causes(exc)
    text = " ".join(str(c) for c in chain).lower()
    if any(isinstance(c, ssl.SSLCertVerificationError) for c in chain) or (
        "certificate verify failed" in text
    ):
        return ArrTLSError(f"TLS certificate not trusted at {base_url}", **where)
    if any(isinstance(c, ssl.SSLError) for c in chain):
        return ArrTLSError(f"TLS handshake failed at {base_url}", **where)
    if any(isinstance(c, ConnectionRefusedError) for c in chain) or "connection refused" in text:
        return ArrConnectionRefusedError(f"connection refused at {base_url}", **where)
    if any(isinstance(c, socket.gaierror) for c in chain) or (
        "name or service not known" in text
        or "nodename nor servname" in text
        or "temporary failure in name resolution" in text
    ):
        host = httpx.URL(url).host
        return ArrDNSError(f"host name {host!r} could not be resolved", **where)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return ArrNetworkError(f"connection to {url} dropped", **where)
    return ArrNetworkError(f"network error talking to {url}: {type(exc).__name__}", **where)


def _app_message(body: bytes) -> str | None:
    # The apps answer errors as {"message": ...} or as a list of validation failures.
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return text[:300] or None
    if isinstance(data, dict):
        message = data.get("message") or data.get("errorMessage") or data.get("title")
        return str(message) if message else None
    if isinstance(data, list):
        parts = [
            str(item.get("errorMessage") or item.get("message"))
            for item in data
            if isinstance(item, dict) and (item.get("errorMessage") or item.get("message"))
        ]
        return "; ".join(parts) or None
    return None


def map_status(
    response: httpx.Response, *, body: bytes, now: datetime, connector: str, endpoint: str
) -> ArrHTTPError:
    """Turn an error status into the matching domain error."""
    status = response.status_code
    if status in (401, 403):
        return ArrAuthenticationError(
            "API key rejected", status_code=status, connector=connector, endpoint=endpoint
        )
    if status == 404:
        return ArrNotFoundError(
            f"not found: {response.request.url.path}",
            status_code=status,
            connector=connector,
            endpoint=endpoint,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
        hint = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
        return ArrRateLimitedError(
            f"rate limited{hint}", retry_after=retry_after, connector=connector, endpoint=endpoint
        )
    if status >= 500:
        if status == 503:
            return ArrServerError(
                "app unavailable (503; starting up?)",
                status_code=status,
                connector=connector,
                endpoint=endpoint,
            )
        detail = _app_message(body)
        return ArrServerError(
            f"server error {status}" + (f": {detail}" if detail else ""),
            status_code=status,
            connector=connector,
            endpoint=endpoint,
        )
    detail = _app_message(body) or response.reason_phrase or "request refused"
    return ArrApplicationError(
        f"{status}: {detail}", status_code=status, connector=connector, endpoint=endpoint
    )
