"""Secrets planted anywhere in an event never reach the output."""

from __future__ import annotations

import base64
import copy
import logging
from typing import TYPE_CHECKING, Any

import pytest
from comradarr_logging import get_logger, is_sensitive_key, redact, redact_text

if TYPE_CHECKING:
    from conftest import Captured

pytestmark = pytest.mark.unit

SECRET = "Zq9SECRETvalue7Xk"


def _assert_clean(out: Captured) -> None:
    assert out.text, "nothing was logged"
    assert SECRET not in out.text
    assert "***" in out.text


@pytest.mark.parametrize(
    "key",
    [
        "api_key",
        "apiKey",
        "ApiKey",
        "x-api-key",
        "X-Api-Key",
        "X_API_KEY",
        "password",
        "db_password",
        "passwd",
        "token",
        "access_token",
        "refreshToken",
        "secret",
        "secret_key",
        "client_secret",
        "authorization",
        "Proxy-Authorization",
        "cookie",
        "Set-Cookie",
        "session",
        "sessionid",
        "auth",
        "credentials",
        "private_key",
    ],
)
def test_sensitive_key_variants(out: Captured, key: str) -> None:
    assert is_sensitive_key(key)
    get_logger("m").info("event", **{key: SECRET})
    _assert_clean(out)
    assert out.lines()[0][key] == "***"


@pytest.mark.parametrize("key", ["author", "bypass", "connector_id", "url", "event", "keyword"])
def test_ordinary_keys_kept(key: str) -> None:
    assert not is_sensitive_key(key)


def test_nested_data(out: Captured) -> None:
    payload = {
        "connector": {
            "name": "sonarr",
            "settings": [{"host": "sonarr"}, {"apiKey": SECRET}],
            "auth": ("user", SECRET),
        },
        "items": ({"deep": {"deeper": {"password": SECRET}}},),
        "tags": {"http://h/?token=" + SECRET},
    }
    get_logger("m").info("saved", payload=payload)
    _assert_clean(out)
    line = out.lines()[0]
    assert line["payload"]["connector"]["name"] == "sonarr"
    assert line["payload"]["connector"]["settings"][0] == {"host": "sonarr"}


def test_headers_dict_and_pairs(out: Captured) -> None:
    log = get_logger("m")
    log.debug(
        "request",
        headers={"X-Api-Key": SECRET, "Accept": "application/json", "Cookie": f"sid={SECRET}"},
    )
    log.debug(
        "response",
        headers=[("Content-Type", "json"), ("Set-Cookie", f"sid={SECRET}; HttpOnly")],
    )
    log.debug(
        "asgi scope",
        headers=[(b"authorization", f"Bearer {SECRET}".encode()), (b"host", b"x")],
    )
    _assert_clean(out)
    lines = out.lines()
    assert lines[0]["headers"]["Accept"] == "application/json"
    assert lines[1]["headers"][0] == ["Content-Type", "json"]


@pytest.mark.parametrize(
    "text",
    [
        f"GET http://sonarr:8989/api/v3/series?apikey={SECRET}",
        f"GET http://sonarr:8989/api?page=1&api_key={SECRET}&x=1",
        f"GET http://radarr/api?token={SECRET}",
        f"GET http://radarr/api?password={SECRET}#frag",
        f"connect postgresql://comradarr:{SECRET}@db:5432/comradarr",
        f"nats://user:{SECRET}@nats:4222",
        f"sent Authorization: Bearer {SECRET}",
        f"header bearer {SECRET}.{SECRET}",
        f'{{"apiKey": "{SECRET}", "title": "x"}}',
        f"{{'X-Api-Key': '{SECRET}'}}",
        f"Cookie: a=1; sid={SECRET}",
        f"https://api.telegram.org/bot123456:{SECRET}/sendMessage",
        f"https://discord.com/api/webhooks/123/{SECRET}",
        f"config password={SECRET} user=bob",
    ],
)
def test_free_text(out: Captured, text: str) -> None:
    redacted = redact_text(text)
    assert SECRET not in redacted
    get_logger("m").info(text, detail=text)
    logging.getLogger("ext.lib").info("stdlib %s", text)
    assert SECRET not in out.text


def test_basic_auth_only_when_it_decodes_to_credentials() -> None:
    token = base64.b64encode(f"admin:{SECRET}".encode()).decode()
    assert redact_text(f"Authorization header was Basic {token}") == (
        "Authorization header was Basic ***"
    )
    assert redact_text("Basic authentication failed") == "Basic authentication failed"


def test_urls_keep_their_shape() -> None:
    assert (
        redact_text(f"http://sonarr:8989/api/v3/series?apikey={SECRET}&page=2")
        == "http://sonarr:8989/api/v3/series?apikey=***&page=2"
    )
    assert redact_text(f"postgresql://u:{SECRET}@h/db") == "postgresql://u:***@h/db"
    assert redact_text("http://sonarr:8989/api") == "http://sonarr:8989/api"


def test_exception_messages(out: Captured) -> None:
    log = get_logger("m")
    try:
        raise ConnectionError(f"GET http://sonarr/api?apikey={SECRET} failed")
    except ConnectionError:
        log.exception("structlog path")
    try:
        raise ValueError(f"bad dsn postgresql://u:{SECRET}@db/x")
    except ValueError:
        logging.getLogger("ext.asyncpg").exception("stdlib path")
    try:
        raise RuntimeError(f"401 with Authorization: Bearer {SECRET}")
    except RuntimeError as exc:
        log.error("as a field", error=exc)
    _assert_clean(out)
    lines = out.lines()
    assert "ConnectionError" in lines[0]["exception"]
    assert "ValueError" in lines[1]["exception"]
    assert lines[2]["error"].startswith("RuntimeError")


def test_database_error_details_lose_their_row_values(out: Captured) -> None:
    """A constraint violation quotes the failing row (a stored ciphertext, a hash): never logged."""
    row = "\\x01027365637265746279746573"
    text = (
        'new row for relation "connectors" violates check constraint "c_check"\n'
        f"DETAIL:  Failing row contains (1, sonarr, TV, {row}, 0)."
    )
    dup = 'duplicate key value violates unique constraint "u"\nDETAIL:  Key (lower(name))=(tv) already exists.'
    assert redact_text(text).endswith("DETAIL:  Failing row contains (***)")
    assert 'check constraint "c_check"' in redact_text(text)
    assert redact_text(dup).endswith("Key (lower(name))=(***)")
    arg = "invalid input for query argument $3: b'\\x01secret' (expected str, got bytes)"
    assert redact_text(arg) == "invalid input for query argument $3: ***"
    try:
        raise RuntimeError(text)
    except RuntimeError:
        get_logger("m").exception("unhandled error")
    assert row not in out.text and "sonarr, TV" not in out.text
    assert "c_check" in out.text


def test_exception_chain_is_redacted(out: Captured) -> None:
    try:
        try:
            raise OSError(f"token={SECRET}")
        except OSError as inner:
            raise RuntimeError("wrapper") from inner
    except RuntimeError:
        get_logger("m").exception("chained")
    _assert_clean(out)
    assert "OSError" in out.lines()[0]["exception"]


def test_stdlib_args_and_extra(out: Captured) -> None:
    logging.getLogger("ext.uvicorn.error").warning(
        "request to %s", f"http://x/?api_key={SECRET}", extra={"headers": {"X-Api-Key": SECRET}}
    )
    _assert_clean(out)


def test_event_itself_and_bound_context(out: Captured) -> None:
    log = get_logger("m").bind(token=SECRET, url=f"http://u:{SECRET}@h/")
    log.info(f"using password={SECRET}")
    _assert_clean(out)


def test_arbitrary_objects_are_redacted_through_their_text(out: Captured) -> None:
    class Config:
        def __repr__(self) -> str:
            return f"Config(host='h', api_key='{SECRET}')"

        __str__ = __repr__

    get_logger("m").info("loaded", config=Config())
    _assert_clean(out)


def test_other_root_handlers_see_redacted_structlog_events(out: Captured) -> None:
    seen: list[Any] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.msg)

    handler = Collect()
    logging.getLogger().addHandler(handler)
    try:
        get_logger("m").info("x", api_key=SECRET)
    finally:
        logging.getLogger().removeHandler(handler)
    assert SECRET not in repr(seen)


def test_redact_never_mutates_input() -> None:
    data: dict[str, Any] = {
        "headers": {"Authorization": f"Bearer {SECRET}"},
        "pairs": [("X-Api-Key", SECRET)],
        "url": f"http://h/?apikey={SECRET}",
        "nested": [{"password": SECRET}],
    }
    before = copy.deepcopy(data)
    result = redact(data)
    assert data == before
    assert SECRET not in repr(result)
    assert result["pairs"] == [("X-Api-Key", "***")]


def test_redact_preserves_shape_and_plain_values() -> None:
    assert redact({"n": 1, "f": 1.5, "b": True, "none": None, "api_key": None}) == {
        "n": 1,
        "f": 1.5,
        "b": True,
        "none": None,
        "api_key": None,
    }
    assert redact(("a", "b", "c")) == ("a", "b", "c")
    assert redact([b"x-api-key", SECRET.encode()]) == [b"x-api-key", "***"]
    assert redact(b"ok bytes") == b"ok bytes"


def test_self_referencing_structure() -> None:
    loop: list[Any] = ["token=" + SECRET]
    loop.append(loop)
    assert SECRET not in repr(redact(loop))


def test_truncated_body_is_redacted() -> None:
    # Bodies logged at trace are often cut off mid-value.
    assert SECRET not in redact_text(f'body={{"apiKey": "{SECRET}')


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "text",
    [
        "token" * 100_000,
        "a=" * 250_000,
        "token=" * 80_000,
        '"password": "' * 40_000,
        "h://u:" * 80_000,
        "a+" * 250_000,
        "cookie: \n" * 50_000,
    ],
    ids=["keyword-word", "eq-chain", "key-chain", "open-quotes", "userinfo", "plus", "headers"],
)
def test_pathological_text_is_linear(text: str) -> None:
    # Each of these once made a regex backtrack for minutes; now ~0.2 s.
    redact_text(text)
