"""Connection test: ``/ping`` then ``system/status``, with a human message on failure."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx

from comradarr_arr._client import ArrClient, Clock
from comradarr_arr._config import ConnectorConfig, RetryPolicy
from comradarr_arr._errors import ArrError


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConnectionTestResult:
    """What a connection test found: the app and version, or the categorized failure."""

    ok: bool
    url: str
    elapsed_ms: float
    app: str | None = None
    app_name: str | None = None
    version: str | None = None
    api_version: str | None = None
    instance_name: str | None = None
    error: str | None = None
    message: str | None = None
    status_code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with ``None`` fields left out."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


async def test_connection(
    *,
    config: ConnectorConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.monotonic,
) -> ConnectionTestResult:
    """Check that the app answers, accepts the key and is a supported version."""
    # A test is interactive: fail fast rather than retry behind the user's back.
    quick = dataclasses.replace(config, retry=RetryPolicy(max_retries=0))
    start = clock()
    try:
        parsed = httpx.URL(config.url)
    except httpx.InvalidURL:
        parsed = httpx.URL("")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return ConnectionTestResult(
            ok=False,
            url=config.url,
            elapsed_ms=0.0,
            error="invalid_url",
            message="the URL must look like http://host:port or https://host/base",
        )
    async with ArrClient(quick, transport=transport, clock=clock) as client:
        url = client.base_url
        try:
            await client.ping()
            info = await client.api_info()
        except ArrError as exc:
            return ConnectionTestResult(
                ok=False,
                url=url,
                elapsed_ms=round((clock() - start) * 1000, 1),
                error=exc.category,
                message=exc.message,
                # 0: nothing was sent (a key no header can carry).
                status_code=getattr(exc, "status_code", None) or None,
            )
    return ConnectionTestResult(
        ok=True,
        url=url,
        elapsed_ms=round((clock() - start) * 1000, 1),
        app=info.app.value,
        app_name=info.app_name,
        version=info.version,
        api_version=info.api_version,
        instance_name=info.instance_name,
        message=f"connected to {info.app_name} {info.version} (API {info.api_version})",
    )


# pytest would otherwise collect the public name as a test when a test module imports it.
test_connection.__test__ = False  # type: ignore[attr-defined]
