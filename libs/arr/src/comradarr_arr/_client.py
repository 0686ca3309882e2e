"""The async *arr client: one instance per connector."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import importlib.metadata
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httpx
import orjson
import structlog
from comradarr_logging import TRACE, get_logger
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from comradarr_arr._aiohttp import AiohttpTransport
from comradarr_arr._config import (
    ApiInfo,
    AppKind,
    ConnectorConfig,
    Shape,
    api_key_problem,
    resolve_api,
)
from comradarr_arr._errors import (
    ArrAuthenticationError,
    ArrConnectionRefusedError,
    ArrError,
    ArrInvalidApiKeyError,
    ArrNetworkError,
    ArrNotFoundError,
    ArrProtocolError,
    ArrRateLimitedError,
    ArrResponseTooLargeError,
    ArrResponseTooSlowError,
    ArrServerError,
    ArrUnsupportedError,
)
from comradarr_arr._http import map_status, map_transport_error
from comradarr_arr._models import (
    ArrModel,
    Command,
    Episode,
    HealthCheck,
    HealthStatus,
    HistoryRecord,
    Indexer,
    IndexerStatistics,
    IndexerStatus,
    Movie,
    QualityProfile,
    QueueStatus,
    Series,
    SystemStatus,
)
from comradarr_arr._stats import REQUEST_STATS
from comradarr_arr._stream import JSONStreamError, iter_json_array

log = structlog.get_logger(__name__)
_trace_log = get_logger(__name__)  # has .trace(); redacted like every log line
# A traced body is cut here: enough to see what was asked and answered.
TRACE_BODY_CHARS = 4000
# One debug line per request (httpx's own, logged by the AsyncClient.send we bypass, is gone).
_REQUESTS_LOG = logging.getLogger(__name__)


def _traceable(body: bytes) -> Any:
    if not body:
        return None
    if len(body) <= TRACE_BODY_CHARS:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    text = body[:TRACE_BODY_CHARS].decode("utf-8", "replace")
    return text + (f"... ({len(body):,} bytes)" if len(body) > TRACE_BODY_CHARS else "")


try:
    __version__ = importlib.metadata.version("comradarr-arr")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
    __version__ = "0.0.0"

USER_AGENT = f"Comradarr/{__version__}"

REQUESTS = Counter(
    "comradarr_arr_requests_total",
    "HTTP requests sent to *arr apps, by outcome (status code or error category).",
    ["connector", "endpoint", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "comradarr_arr_request_duration_seconds",
    "Duration of HTTP requests to *arr apps, body included.",
    ["connector", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RETRIES = Counter(
    "comradarr_arr_retries_total",
    "Requests to *arr apps retried, by the error that caused the retry.",
    ["connector", "endpoint", "reason"],
)
MALFORMED_RECORDS = Counter(
    "comradarr_arr_malformed_records_total",
    "Records from *arr apps that failed validation and were skipped.",
    ["connector", "endpoint"],
)
RECORDS = Counter(
    "comradarr_arr_records_total",
    "Records parsed from *arr apps.",
    ["connector", "endpoint"],
)

M = TypeVar("M", bound=ArrModel)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
Now = Callable[[], datetime]

# Re-reads of a paged list from page 1 after its total changed, before we accept a
# possibly inconsistent walk rather than loop forever on a library that keeps changing.
MAX_PAGE_RESTARTS = 3


def _utcnow() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _verifying_tls_context() -> ssl.SSLContext:
    """The certificate-verifying TLS context every client shares, built once per process:
    loading the CA bundle costs ~15 ms of CPU, and a client is built per sync run and per
    health check. (httpx builds the same context per client when given verify=True.)"""
    return httpx.create_ssl_context(verify=True)


def tls_verify(verify_tls: bool) -> ssl.SSLContext | bool:
    """httpx's verify= for a connector: the shared verifying context, or False (off).

    For code that builds its own transport (a transport given to a client brings its own
    TLS settings, and httpx would load the CA bundle again for it)."""
    return _verifying_tls_context() if verify_tls else False


def default_transport(*, verify_tls: bool) -> httpx.AsyncBaseTransport:
    """The transport a client uses unless given one (aiohttp's pool under httpx's API)."""
    return AiohttpTransport(tls=functools.partial(tls_verify, verify_tls))


def proxy_for(url: str) -> str | None:
    """The forward proxy the environment names for url (HTTP_PROXY, HTTPS_PROXY or
    ALL_PROXY, any case), unless NO_PROXY exempts its host."""
    parts = urlsplit(url)
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or proxy_bypass(parts.hostname or ""):
        return None
    return proxy


def _proxy_transport(config: ConnectorConfig) -> httpx.AsyncBaseTransport | None:
    """httpx's own transport through the proxy the environment names for the connector."""
    proxy = proxy_for(config.url)
    if proxy is None:
        return None
    return httpx.AsyncHTTPTransport(proxy=proxy, verify=tls_verify(config.verify_tls))


def _record_ids(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    keys = ("id", "seriesId", "episodeId", "movieId", "indexerId")
    return {k: raw[k] for k in keys if isinstance(raw.get(k), int | str)}


def _status_category(outcome: str) -> str | None:
    """The ArrError category of an outcome: an HTTP status (None for a success) mapped as
    map_status does, or already a category."""
    if not outcome.isdigit():
        return outcome
    status = int(outcome)
    if status < 400:
        return None
    if status in (401, 403):
        return "authentication"
    if status == 429:
        return "rate_limited"
    return "server" if status >= 500 else "application"


class _Cookies(httpx.Cookies):
    """httpx's cookie store, reading a response only when it sets cookies: for every
    response httpx otherwise builds urllib stand-ins of it and its request (parsing the
    URL again) to find none, more CPU than our transport spends on the whole exchange."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HealthReport:
    """A connector's health: the overall status and the app's own messages."""

    status: HealthStatus
    checks: list[HealthCheck]
    message: str | None = None


class ArrClient:
    """Async client for one *arr instance (Sonarr, Radarr, Whisparr or Prowlarr)."""

    def __init__(
        self,
        config: ConnectorConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        now: Now = _utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._clock = clock
        self._now = now
        self._rng = rng or random.Random()
        self._semaphore = asyncio.Semaphore(max(1, config.max_concurrency))
        self._info: ApiInfo | None = None
        # httpx reads proxies from the environment only for transports it makes itself: the
        # one for a proxy is made here.
        self._transport = (
            transport or _proxy_transport(config) or default_transport(verify_tls=config.verify_tls)
        )
        # A key no header can carry (stored before keys were validated) fails each request
        # as an authentication error instead of breaking the client's construction.
        self._key_problem = api_key_problem(config.api_key)
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self._key_problem is None:
            # The key goes in a header only: query strings end up in proxy and access logs.
            headers["X-Api-Key"] = config.api_key
        self._http = httpx.AsyncClient(
            base_url=config.url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(config.timeout),
            transport=self._transport,  # closed with the client
            follow_redirects=False,
        )
        self._http._cookies = _Cookies()  # (the cookies setter would wrap it in a plain one)
        # Requests name the absolute URL: httpx then parses it once, instead of parsing the
        # relative path and the merged URL again on every request.
        self._prefix = str(self._http.base_url)
        # Requests are built here and handed to the transport. The client's build_request
        # and send layers (header and URL merging, auth and redirect flows, response
        # wrapping) cost 40-70 µs of CPU per request, a sixth of the whole exchange, and this
        # client needs none of them: no auth, hooks or redirects; cookies are kept below.
        self._timeout = self._http.timeout.as_dict()

    async def __aenter__(self) -> ArrClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying connection pool."""
        await self._http.aclose()

    @property
    def base_url(self) -> str:
        """The configured base URL, URL base path included."""
        return str(self._http.base_url).rstrip("/")

    # --- transport -----------------------------------------------------------------

    def _request(self, method: str, path: str, *, params: Any, body: Any) -> httpx.Request:
        """The request as the client's build_request makes it: its headers, its timeout."""
        if self._http.is_closed:
            raise RuntimeError("the client has been closed")
        if self._key_problem is not None:
            raise ArrInvalidApiKeyError(
                self._key_problem, connector=self.config.name, endpoint=path
            )
        request = httpx.Request(
            method,
            httpx.URL(self._prefix + path.lstrip("/"), params=params),
            headers=self._http.headers,  # copied as they stand
            content=None if body is None else orjson.dumps(body),
            extensions={"timeout": self._timeout},
        )
        if body is not None:
            request.headers["Content-Type"] = "application/json"
        cookies = self._http.cookies
        if cookies.jar:  # a response set some (a load balancer's affinity, say)
            cookies.set_cookie_header(request)
        return request

    async def _attempt(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Any,
        body: Any,
        stream: bool,
    ) -> tuple[httpx.Response, float]:
        # `timeout` bounds each wait for bytes; this bounds the whole exchange (a body that
        # trickles in forever never trips a per-read timeout). A streamed list's headers
        # are bounded here, its body by max_stream_seconds as it is read.
        limit = self.config.max_request_seconds
        try:
            async with asyncio.timeout(limit):
                return await self._exchange(
                    method, path, endpoint=endpoint, params=params, body=body, stream=stream
                )
        except TimeoutError:
            raise ArrResponseTooSlowError(
                f"{endpoint}: the answer took longer than the {limit:g} s total limit"
                " (max_request_seconds)",
                limit="max_request_seconds",
                connector=self.config.name,
                endpoint=endpoint,
            ) from None

    async def _read_bounded(self, response: httpx.Response, endpoint: str) -> None:
        """Read a body into response.content, refusing one larger than max_body_bytes
        (told by Content-Length before reading, else counted as it arrives)."""
        limit = self.config.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(endpoint, limit, "max_body_bytes")
        parts: list[bytes] = []
        size = 0
        async for part in response.aiter_bytes():
            size += len(part)
            if size > limit:
                raise self._too_large(endpoint, limit, "max_body_bytes")
            parts.append(part)
        response._content = b"".join(parts)  # what Response.aread() stores

    def _too_large(self, endpoint: str, limit: int, name: str) -> ArrResponseTooLargeError:
        return ArrResponseTooLargeError(
            f"{endpoint}: the answer is larger than the {limit / 2**20:g} MiB limit ({name})",
            limit=name,
            connector=self.config.name,
            endpoint=endpoint,
        )

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Any,
        body: Any,
        stream: bool,
    ) -> tuple[httpx.Response, float]:
        request = self._request(method, path, params=params, body=body)
        name = self.config.name
        # The semaphore bounds requests waiting for an answer; a streamed body is read
        # after it is released, so nested reads (episodes inside a series walk) cannot
        # deadlock a connector limited to one request at a time.
        async with self._semaphore:
            start = self._clock()
            try:
                response = await self._transport.handle_async_request(request)
            except httpx.TransportError as exc:
                elapsed = self._clock() - start
                error = map_transport_error(
                    exc,
                    url=self._display_url(path),
                    base_url=self.base_url,
                    elapsed=elapsed,
                    timeout=self.config.timeout,
                    connector=name,
                    endpoint=endpoint,
                )
                REQUESTS.labels(name, endpoint, error.category).inc()
                REQUEST_SECONDS.labels(name, endpoint).observe(elapsed)
                if self.config.connector_id is not None:
                    REQUEST_STATS.record(
                        connector_id=self.config.connector_id,
                        endpoint=endpoint,
                        seconds=elapsed,
                        error=error.category,
                    )
                raise error from exc
            response.request = request
            if _REQUESTS_LOG.isEnabledFor(logging.DEBUG):  # checked first: a hot path
                log.debug(
                    "arr.request",
                    connector=name,
                    method=method,
                    target=request.url.raw_path.decode("ascii"),
                    status=response.status_code,
                )
            self._http.cookies.extract_cookies(response)
            if response.is_success:
                if stream:
                    return response, start
                try:
                    await self._read_bounded(response, endpoint)
                except httpx.TransportError as exc:
                    error = self._body_error(exc, path, endpoint, start)
                    self._observe(endpoint, error.category, start)
                    raise error from exc
                except ArrResponseTooLargeError as exc:
                    self._observe(endpoint, exc.category, start)
                    raise
                finally:
                    await response.aclose()
                self._observe(endpoint, str(response.status_code), start)
                if _REQUESTS_LOG.isEnabledFor(TRACE):
                    self._trace(request, response, response.content)
                return response, start
            try:
                await self._read_bounded(response, endpoint)
                content = response.content
            except (httpx.TransportError, ArrResponseTooLargeError):
                content = b""  # the status says enough
            finally:
                await response.aclose()
            self._observe(endpoint, str(response.status_code), start)
            if _REQUESTS_LOG.isEnabledFor(TRACE):
                self._trace(request, response, content)
            raise map_status(
                response, body=content, now=self._now(), connector=name, endpoint=endpoint
            )

    def _trace(self, request: httpx.Request, response: httpx.Response, content: bytes) -> None:
        """The request and response bodies at TRACE: parsed JSON where it parses (so the
        redaction sees field names, the apps' {"name": "apiKey", "value": ...} included),
        else text, cut at TRACE_BODY_CHARS."""
        _trace_log.trace(
            "arr.exchange",
            connector=self.config.name,
            method=request.method,
            target=request.url.raw_path.decode("ascii"),
            status=response.status_code,
            request_body=_traceable(request.content),
            response_body=_traceable(content),
        )

    def _observe(self, endpoint: str, outcome: str, start: float) -> None:
        elapsed = self._clock() - start
        REQUESTS.labels(self.config.name, endpoint, outcome).inc()
        REQUEST_SECONDS.labels(self.config.name, endpoint).observe(elapsed)
        if self.config.connector_id is not None:
            REQUEST_STATS.record(
                connector_id=self.config.connector_id,
                endpoint=endpoint,
                seconds=elapsed,
                error=_status_category(outcome),
            )

    def _display_url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _body_error(
        self, exc: httpx.TransportError, path: str, endpoint: str, start: float
    ) -> ArrNetworkError:
        return map_transport_error(
            exc,
            url=self._display_url(path),
            base_url=self.base_url,
            elapsed=self._clock() - start,
            timeout=self.config.timeout,
            connector=self.config.name,
            endpoint=endpoint,
        )

    def _retry_delay(self, error: ArrError, attempt: int) -> float:
        policy = self.config.retry
        if isinstance(error, ArrRateLimitedError) and error.retry_after is not None:
            return min(error.retry_after, policy.max_retry_after)
        return policy.backoff(attempt=attempt, rng=self._rng)

    @staticmethod
    def _may_retry(error: ArrError, *, idempotent: bool) -> bool:
        if not error.retryable:
            return False
        if idempotent:
            return True
        # A POST may have taken effect before a 500 or a dropped connection, and a
        # duplicate search costs indexer hits: retry only when it surely was not processed.
        return isinstance(error, ArrRateLimitedError | ArrConnectionRefusedError) or (
            isinstance(error, ArrServerError) and error.status_code == 503
        )

    async def _send(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Any = None,
        body: Any = None,
        stream: bool = False,
        retries: int | None = None,
    ) -> tuple[httpx.Response, float]:
        max_retries = self.config.retry.max_retries if retries is None else retries
        idempotent = method in ("GET", "HEAD")
        attempt = 0
        while True:
            try:
                return await self._attempt(
                    method, path, endpoint=endpoint, params=params, body=body, stream=stream
                )
            except ArrError as error:
                if attempt >= max_retries or not self._may_retry(error, idempotent=idempotent):
                    raise
                delay = self._retry_delay(error, attempt)
                attempt += 1
                RETRIES.labels(self.config.name, endpoint, error.category).inc()
                log.warning(
                    "arr.request.retry",
                    connector=self.config.name,
                    endpoint=endpoint,
                    attempt=attempt,
                    delay_s=round(delay, 3),
                    error=error.category,
                    detail=error.message,
                )
                await self._sleep(delay)

    async def _get_json(
        self, path: str, *, endpoint: str, params: Any = None, retries: int | None = None
    ) -> Any:
        response, _ = await self._send(
            "GET", path, endpoint=endpoint, params=params, retries=retries
        )
        return self._decode(response, endpoint)

    def _decode(self, response: httpx.Response, endpoint: str) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise ArrProtocolError(
                f"{endpoint}: answer is not JSON (HTTP {response.status_code})",
                connector=self.config.name,
                endpoint=endpoint,
            ) from exc

    def _parse(self, raw: Any, model: type[M], endpoint: str) -> M | None:
        try:
            if not isinstance(raw, dict):
                raise TypeError(f"expected an object, got {type(raw).__name__}")
            item = model.model_validate(raw)
        except (ValidationError, TypeError) as exc:
            MALFORMED_RECORDS.labels(self.config.name, endpoint).inc()
            # Field locations and error types only: input values could hold anything.
            problems = (
                [f"{'.'.join(map(str, e['loc']))}:{e['type']}" for e in exc.errors()[:5]]
                if isinstance(exc, ValidationError)
                else [str(exc)]
            )
            log.warning(
                "arr.record.malformed",
                connector=self.config.name,
                endpoint=endpoint,
                model=model.__name__,
                problems=problems,
                **_record_ids(raw),
            )
            return None
        return item

    async def _stream_array(
        self, path: str, *, endpoint: str, model: type[M], params: Any = None
    ) -> AsyncIterator[M]:
        response, start = await self._send(
            "GET", path, endpoint=endpoint, params=params, stream=True
        )
        parsed = 0
        try:
            async for raw in iter_json_array(self._bounded_stream(response, endpoint)):
                item = self._parse(raw, model, endpoint)
                if item is not None:
                    parsed += 1
                    yield item
        except httpx.TransportError as exc:
            raise self._body_error(exc, path, endpoint, start) from exc
        except JSONStreamError as exc:
            raise ArrProtocolError(
                f"{endpoint}: {exc}", connector=self.config.name, endpoint=endpoint
            ) from exc
        finally:
            await response.aclose()
            self._observe(endpoint, str(response.status_code), start)
            # Counted once per answer: a labelled inc per record costs more than its parse.
            RECORDS.labels(self.config.name, endpoint).inc(parsed)

    async def _bounded_stream(
        self, response: httpx.Response, endpoint: str
    ) -> AsyncIterator[bytes]:
        """The body's chunks, refused past max_stream_bytes or once the waits for them add
        up to max_stream_seconds (the time the reader spends on each chunk is its own).

        The timeout wraps each wait only, never a yield: a generator runs in its reader's
        task, and a deadline spanning a yield would cancel the reader's own work."""
        size_limit, seconds = self.config.max_stream_bytes, self.config.max_stream_seconds
        chunks = response.aiter_bytes().__aiter__()
        loop = asyncio.get_running_loop()
        size, waited = 0, 0.0
        while True:
            began = loop.time()
            try:
                async with asyncio.timeout(max(seconds - waited, 0.0)):
                    part = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise ArrResponseTooSlowError(
                    f"{endpoint}: the list took longer than the {seconds:g} s total limit"
                    " (max_stream_seconds)",
                    limit="max_stream_seconds",
                    connector=self.config.name,
                    endpoint=endpoint,
                ) from None
            waited += loop.time() - began
            size += len(part)
            if size > size_limit:
                raise self._too_large(endpoint, size_limit, "max_stream_bytes")
            yield part

    async def _paged(
        self, path: str, *, endpoint: str, model: type[M], params: dict[str, Any]
    ) -> AsyncIterator[M]:
        size = self.config.page_size
        page = 1
        expected_total: int | None = None
        restarts = 0
        # Ids already yielded: the walk restarts from page 1 when the library changes
        # under us, and items shifting across page boundaries must not repeat.
        seen: set[Any] = set()
        while True:
            data = await self._get_json(
                path, endpoint=endpoint, params={**params, "page": page, "pageSize": size}
            )
            if not isinstance(data, dict) or not isinstance(data.get("records", []), list):
                raise ArrProtocolError(
                    f"{endpoint}: expected a paging resource",
                    connector=self.config.name,
                    endpoint=endpoint,
                )
            total = int(data.get("totalRecords") or 0)
            records: list[Any] = data.get("records") or []
            changed = expected_total is not None and total != expected_total
            if changed and restarts < MAX_PAGE_RESTARTS:
                restarts += 1
                log.info(
                    "arr.paging.restart",
                    connector=self.config.name,
                    endpoint=endpoint,
                    page=page,
                    total_before=expected_total,
                    total_now=total,
                )
                # Items may have moved across the pages already read: re-read them all.
                expected_total = total
                page = 1
                continue
            expected_total = total
            parsed = [item for raw in records if (item := self._parse(raw, model, endpoint))]
            RECORDS.labels(self.config.name, endpoint).inc(len(parsed))
            for item in parsed:
                key = getattr(item, "id", None)
                if key in seen:
                    continue
                seen.add(key)
                yield item
            if not records or page * size >= total:
                return
            page += 1

    # --- detection and status --------------------------------------------------------

    async def ping(self) -> None:
        """``GET /ping`` (no key needed): raises if the app is not reachable."""
        response, _ = await self._send("GET", "ping", endpoint="ping", retries=0)
        data = self._decode(response, "ping")
        if not isinstance(data, dict) or str(data.get("status", "")).upper() != "OK":
            raise ArrProtocolError(
                "ping: unexpected answer (is this an *arr app?)",
                connector=self.config.name,
                endpoint="ping",
            )

    async def system_status(self, *, api_base: str | None = None) -> SystemStatus:
        """``GET system/status`` under the given (or detected) API base."""
        base = api_base or (await self.api_info()).api_base
        data = await self._get_json(f"{base}/system/status", endpoint="system/status")
        return self._resource(data, SystemStatus, "system/status", " (is this an *arr app?)")

    def _resource(self, data: Any, model: type[M], endpoint: str, hint: str = "") -> M:
        """One resource of the answer, or ArrProtocolError saying the answer was unexpected."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ArrProtocolError(
                f"{endpoint}: unexpected answer{hint}",
                connector=self.config.name,
                endpoint=endpoint,
            ) from exc

    async def api_info(self) -> ApiInfo:
        """Detect (once) the app, its version and the API base and shape to use."""
        if self._info is None:
            self._info = await self._detect()
        return self._info

    async def _detect(self) -> ApiInfo:
        bases = ["/api/v3", "/api/v1"]
        if self.config.app is AppKind.PROWLARR:
            bases.reverse()
        status: SystemStatus | None = None
        for base in bases:
            try:
                status = await self.system_status(api_base=base)
                break
            except ArrNotFoundError:
                continue
        if status is None:
            raise ArrUnsupportedError(
                f"no system/status under /api/v3 or /api/v1 at {self.base_url}",
                connector=self.config.name,
                endpoint="system/status",
            )
        info = resolve_api(
            app_name=status.app_name, version=status.version, instance_name=status.instance_name
        )
        if self.config.app is not None and info.app is not self.config.app:
            raise ArrUnsupportedError(
                f"expected {self.config.app.value} but found {info.app_name} {info.version}"
                f" at {self.base_url}",
                connector=self.config.name,
                endpoint="system/status",
            )
        log.info(
            "arr.detected",
            connector=self.config.name,
            app=info.app.value,
            version=info.version,
            api_base=info.api_base,
        )
        return info

    async def _require(self, shape: Shape) -> ApiInfo:
        info = await self.api_info()
        if info.shape is not shape:
            raise ArrUnsupportedError(
                f"{shape.value} endpoints are not served by {info.app_name} {info.version}",
                connector=self.config.name,
            )
        return info

    async def health(self) -> HealthReport:
        """The app's health checks folded into healthy / degraded / unhealthy / offline."""
        try:
            info = await self.api_info()
            data = await self._get_json(f"{info.api_base}/health", endpoint="health")
        except ArrNetworkError as exc:
            return HealthReport(status=HealthStatus.OFFLINE, checks=[], message=exc.message)
        except ArrAuthenticationError as exc:
            return HealthReport(status=HealthStatus.AUTH_FAILED, checks=[], message=exc.message)
        except ArrError as exc:
            return HealthReport(status=HealthStatus.UNHEALTHY, checks=[], message=exc.message)
        checks = [c for raw in (data or []) if (c := self._parse(raw, HealthCheck, "health"))]
        kinds = {c.type for c in checks}
        if "error" in kinds:
            status = HealthStatus.UNHEALTHY
        elif "warning" in kinds:
            status = HealthStatus.DEGRADED
        else:
            status = HealthStatus.HEALTHY
        messages = "; ".join(c.message for c in checks if c.message and c.type != "ok")
        return HealthReport(status=status, checks=checks, message=messages or None)

    # --- library reads -------------------------------------------------------------

    async def series(self) -> AsyncIterator[Series]:
        """Every series, with statistics, streamed item by item."""
        info = await self._require(Shape.SERIES)
        async for item in self._stream_array(
            f"{info.api_base}/series", endpoint="series", model=Series
        ):
            yield item

    async def episodes(self, *, series_id: int) -> AsyncIterator[Episode]:
        """A series' episodes with their files (for ``qualityCutoffNotMet``)."""
        info = await self._require(Shape.SERIES)
        params: dict[str, Any] = {"seriesId": series_id}
        if info.uses_subresources:
            params["includeSubresources"] = "episodeFile"
        else:
            params["includeEpisodeFile"] = "true"
        async for item in self._stream_array(
            f"{info.api_base}/episode", endpoint="episode", model=Episode, params=params
        ):
            yield item

    async def movies(self) -> AsyncIterator[Movie]:
        """Every movie with its file, streamed item by item."""
        info = await self._require(Shape.MOVIE)
        async for item in self._stream_array(
            f"{info.api_base}/movie", endpoint="movie", model=Movie
        ):
            yield item

    async def one(self, kind: type[M], *, item_id: int) -> M | None:
        """One series (kind=Series) or movie (kind=Movie) by its id; None when the app has
        no such item (deleted since) or its record cannot be read."""
        shape = Shape.SERIES if issubclass(kind, Series) else Shape.MOVIE
        info = await self._require(shape)
        endpoint = "series" if shape is Shape.SERIES else "movie"
        try:
            raw = await self._get_json(f"{info.api_base}/{endpoint}/{item_id}", endpoint=endpoint)
        except ArrNotFoundError:
            return None
        return self._parse(raw, kind, endpoint)

    def _wanted_params(
        self, info: ApiInfo, *, monitored: bool, sort_key: str, sort_direction: str, files: bool
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "sortKey": sort_key,
            "sortDirection": sort_direction,
            "monitored": "true" if monitored else "false",
        }
        if info.shape is Shape.SERIES:
            if info.uses_subresources:
                if files:
                    params["includeSubresources"] = "episodeFile"
            else:
                params["includeSeries"] = "false"
                if files:
                    params["includeEpisodeFile"] = "true"
        return params

    async def _wanted(
        self,
        *,
        kind: str,
        shape: Shape,
        model: type[M],
        monitored: bool,
        sort_key: str,
        sort_direction: str,
    ) -> AsyncIterator[M]:
        info = await self._require(shape)
        params = self._wanted_params(
            info,
            monitored=monitored,
            sort_key=sort_key,
            sort_direction=sort_direction,
            # The cutoff list is only useful with the files (their quality).
            files=kind == "cutoff",
        )
        async for item in self._paged(
            f"{info.api_base}/wanted/{kind}", endpoint=f"wanted/{kind}", model=model, params=params
        ):
            yield item

    def missing_episodes(
        self,
        *,
        monitored: bool = True,
        sort_key: str = "episodes.airDateUtc",
        sort_direction: str = "ascending",
    ) -> AsyncIterator[Episode]:
        """``wanted/missing`` episodes, page by page."""
        return self._wanted(
            kind="missing", shape=Shape.SERIES, model=Episode, monitored=monitored,
            sort_key=sort_key, sort_direction=sort_direction,
        )  # fmt: skip

    def cutoff_unmet_episodes(
        self,
        *,
        monitored: bool = True,
        sort_key: str = "episodes.airDateUtc",
        sort_direction: str = "ascending",
    ) -> AsyncIterator[Episode]:
        """``wanted/cutoff`` episodes with their files, page by page."""
        return self._wanted(
            kind="cutoff", shape=Shape.SERIES, model=Episode, monitored=monitored,
            sort_key=sort_key, sort_direction=sort_direction,
        )  # fmt: skip

    def missing_movies(
        self,
        *,
        monitored: bool = True,
        sort_key: str = "movieMetadata.sortTitle",
        sort_direction: str = "ascending",
    ) -> AsyncIterator[Movie]:
        """``wanted/missing`` movies, page by page."""
        return self._wanted(
            kind="missing", shape=Shape.MOVIE, model=Movie, monitored=monitored,
            sort_key=sort_key, sort_direction=sort_direction,
        )  # fmt: skip

    def cutoff_unmet_movies(
        self,
        *,
        monitored: bool = True,
        sort_key: str = "movieMetadata.sortTitle",
        sort_direction: str = "ascending",
    ) -> AsyncIterator[Movie]:
        """``wanted/cutoff`` movies with their files, page by page."""
        return self._wanted(
            kind="cutoff", shape=Shape.MOVIE, model=Movie, monitored=monitored,
            sort_key=sort_key, sort_direction=sort_direction,
        )  # fmt: skip

    async def quality_profiles(self) -> AsyncIterator[QualityProfile]:
        """The app's quality profiles."""
        info = await self.api_info()
        async for item in self._stream_array(
            f"{info.api_base}/qualityprofile", endpoint="qualityprofile", model=QualityProfile
        ):
            yield item

    async def history_since(
        self, *, since: datetime, event_type: str | None = None
    ) -> AsyncIterator[HistoryRecord]:
        """History records newer than ``since`` (grabbed, imported, failed, ...)."""
        info = await self.api_info()
        when = since if since.tzinfo else since.replace(tzinfo=UTC)
        params: dict[str, Any] = {
            "date": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if event_type:
            params["eventType"] = event_type
        async for item in self._stream_array(
            f"{info.api_base}/history/since",
            endpoint="history/since",
            model=HistoryRecord,
            params=params,
        ):
            yield item

    async def indexers(self) -> AsyncIterator[Indexer]:
        """Prowlarr's indexers."""
        info = await self._require(Shape.INDEXER)
        async for item in self._stream_array(
            f"{info.api_base}/indexer", endpoint="indexer", model=Indexer
        ):
            yield item

    async def indexer_statuses(self) -> AsyncIterator[IndexerStatus]:
        """Prowlarr's indexer statuses (only disabled indexers are listed)."""
        info = await self._require(Shape.INDEXER)
        async for item in self._stream_array(
            f"{info.api_base}/indexerstatus", endpoint="indexerstatus", model=IndexerStatus
        ):
            yield item

    async def indexer_stats(self) -> list[IndexerStatistics] | None:
        """Prowlarr's per-indexer statistics (queries, grabs, failures); None when this
        Prowlarr does not serve them (404)."""
        info = await self._require(Shape.INDEXER)
        try:
            data = await self._get_json(f"{info.api_base}/indexerstats", endpoint="indexerstats")
        except ArrNotFoundError:
            return None
        raw = data.get("indexers") if isinstance(data, dict) else None
        return [
            parsed
            for item in (raw or [])
            if (parsed := self._parse(item, IndexerStatistics, "indexerstats")) is not None
        ]

    # --- download queue ----------------------------------------------------------------

    async def queue_status(self) -> QueueStatus:
        """``queue/status``: the size of the app's download queue."""
        info = await self.api_info()
        data = await self._get_json(f"{info.api_base}/queue/status", endpoint="queue/status")
        return self._resource(data, QueueStatus, "queue/status")

    # --- commands --------------------------------------------------------------------

    async def _command(self, body: dict[str, Any]) -> Command:
        info = await self.api_info()
        response, _ = await self._send(
            "POST", f"{info.api_base}/command", endpoint="command", body=body
        )
        return self._command_from(self._decode(response, "command"))

    def _command_from(self, data: Any) -> Command:
        try:
            return Command.model_validate(data)
        except ValidationError as exc:
            raise ArrProtocolError(
                "command: unexpected answer", connector=self.config.name, endpoint="command"
            ) from exc

    async def search_episodes(self, *, episode_ids: Sequence[int]) -> Command:
        """Queue an ``EpisodeSearch`` for the given episodes."""
        await self._require(Shape.SERIES)
        return await self._command({"name": "EpisodeSearch", "episodeIds": list(episode_ids)})

    async def search_season(self, *, series_id: int, season_number: int) -> Command:
        """Queue a ``SeasonSearch`` (season pack) for one season."""
        await self._require(Shape.SERIES)
        return await self._command(
            {"name": "SeasonSearch", "seriesId": series_id, "seasonNumber": season_number}
        )

    async def search_movies(self, *, movie_ids: Sequence[int]) -> Command:
        """Queue a ``MoviesSearch`` for the given movies."""
        await self._require(Shape.MOVIE)
        return await self._command({"name": "MoviesSearch", "movieIds": list(movie_ids)})

    async def command(self, *, command_id: int) -> Command:
        """``GET command/{id}``."""
        info = await self.api_info()
        data = await self._get_json(
            f"{info.api_base}/command/{command_id}", endpoint="command/{id}"
        )
        return self._command_from(data)

    async def commands(self) -> list[Command]:
        """``GET command``: the app's queued, running and recently finished commands."""
        info = await self.api_info()
        data = await self._get_json(f"{info.api_base}/command", endpoint="command")
        if not isinstance(data, list):
            raise ArrProtocolError(
                "command: expected a list", connector=self.config.name, endpoint="command"
            )
        return [self._command_from(item) for item in data]

    async def wait_for_command(
        self, *, command_id: int, max_wait: float = 600.0, poll_interval: float = 2.0
    ) -> Command:
        """Poll a command until it ends or ``max_wait`` seconds pass; return the last state."""
        deadline = self._clock() + max_wait
        while True:
            command = await self.command(command_id=command_id)
            if command.is_terminal:
                return command
            remaining = deadline - self._clock()
            if remaining <= 0:
                log.info(
                    "arr.command.deadline",
                    connector=self.config.name,
                    command_id=command_id,
                    status=command.status,
                )
                return command
            await self._sleep(min(poll_interval, remaining))
