"""Domain errors: every failure of an *arr call is one of these few classes."""

from __future__ import annotations


class ArrError(Exception):
    """Base of every error raised by the *arr client."""

    #: a short machine-readable category, stable for logs, metrics and the CLI
    category: str = "error"

    def __init__(self, message: str, *, connector: str = "", endpoint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.connector = connector
        self.endpoint = endpoint

    @property
    def retryable(self) -> bool:
        """Whether retrying the same request may succeed."""
        return False


class ArrNetworkError(ArrError):
    """The app could not be reached or the connection broke."""

    category = "network"

    @property
    def retryable(self) -> bool:
        """Network failures are usually transient."""
        return True


class ArrConnectionRefusedError(ArrNetworkError):
    """Nothing is listening at the address."""

    category = "connection_refused"


class ArrDNSError(ArrNetworkError):
    """The host name does not resolve."""

    category = "dns"


class ArrTimeoutError(ArrNetworkError):
    """The app did not answer within the connector's timeout."""

    category = "timeout"

    def __init__(
        self, message: str, *, elapsed: float, connector: str = "", endpoint: str = ""
    ) -> None:
        super().__init__(message, connector=connector, endpoint=endpoint)
        self.elapsed = elapsed


class ArrTLSError(ArrNetworkError):
    """The TLS handshake failed (for example an untrusted certificate)."""

    category = "tls"

    @property
    def retryable(self) -> bool:
        """A certificate does not become trusted by retrying."""
        return False


class ArrHTTPError(ArrError):
    """The app answered with an error status."""

    def __init__(
        self, message: str, *, status_code: int, connector: str = "", endpoint: str = ""
    ) -> None:
        super().__init__(message, connector=connector, endpoint=endpoint)
        self.status_code = status_code


class ArrAuthenticationError(ArrHTTPError):
    """The API key was rejected (401/403)."""

    category = "authentication"


class ArrInvalidApiKeyError(ArrAuthenticationError):
    """The stored API key cannot be sent at all (not printable ASCII); nothing was sent.

    An authentication failure like a 401 (re-entering the key is the fix), with status 0.
    """

    def __init__(self, message: str, *, connector: str = "", endpoint: str = "") -> None:
        super().__init__(message, status_code=0, connector=connector, endpoint=endpoint)


class ArrNotFoundError(ArrHTTPError):
    """The resource or endpoint does not exist (404)."""

    category = "not_found"


class ArrRateLimitedError(ArrHTTPError):
    """The app or a proxy in front of it asked us to slow down (429)."""

    category = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        retry_after: float | None,
        connector: str = "",
        endpoint: str = "",
    ) -> None:
        super().__init__(message, status_code=status_code, connector=connector, endpoint=endpoint)
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Rate limits pass once Retry-After has elapsed."""
        return True


class ArrServerError(ArrHTTPError):
    """The app failed (5xx), including 503 while it is starting up."""

    category = "server"

    @property
    def retryable(self) -> bool:
        """Server errors are often transient (restarts, start-up)."""
        return True


class ArrApplicationError(ArrHTTPError):
    """The app refused the request (other 4xx), with its own error message."""

    category = "application"


class ArrProtocolError(ArrError):
    """The app answered something that is not the expected JSON."""

    category = "protocol"


class ArrLimitError(ArrError):
    """An answer went past one of the client's bounds (size or total time); ``limit`` names
    the ConnectorConfig field. Not retried: the same request would cost as much again."""

    category = "limit"

    def __init__(
        self, message: str, *, limit: str, connector: str = "", endpoint: str = ""
    ) -> None:
        super().__init__(message, connector=connector, endpoint=endpoint)
        self.limit = limit


class ArrResponseTooLargeError(ArrLimitError):
    """The body was larger than max_body_bytes (max_stream_bytes for a streamed list)."""

    category = "too_large"


class ArrResponseTooSlowError(ArrLimitError):
    """The whole exchange took longer than max_request_seconds (max_stream_seconds)."""

    category = "too_slow"


class ArrUnsupportedError(ArrError):
    """The app or its version is not one this client supports."""

    category = "unsupported"
