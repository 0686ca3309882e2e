"""Removal of credentials from anything that is about to be logged."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from structlog.typing import EventDict, WrappedLogger

__all__ = ["REDACTED", "is_sensitive_key", "redact", "redact_event", "redact_text"]

REDACTED = "***"

# A key is sensitive if, lower-cased with separators removed, it contains one
# of these words ("X-Api-Key" -> "xapikey", "db_password", "plexToken").
# Over-redacting a harmless field costs little; leaking a key costs a lot.
_SENSITIVE_PARTS = (
    "apikey",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "authorization",
    "cookie",
    "session",
    "credential",
    "privatekey",
)
# Too short or too common to match as substrings ("author", "bypass").
_SENSITIVE_EXACT = frozenset({"auth", "pwd", "pass", "jwt"})
_SEPARATORS = str.maketrans("", "", "-_ .")

# Containers nested deeper than this are replaced wholesale; it also stops
# self-referencing structures from recursing forever.
_MAX_DEPTH = 32


@lru_cache(maxsize=4096)
def is_sensitive_key(key: str) -> bool:
    """Return whether a mapping key or header name names a credential."""
    norm = key.lower().translate(_SEPARATORS)
    return norm in _SENSITIVE_EXACT or any(part in norm for part in _SENSITIVE_PARTS)


# Every pattern below is linear in the length of the text: bodies logged at
# trace can be megabytes. Matches start only at the beginning of a token
# (negative lookbehind) and repeats are possessive, so nothing backtracks.

# scheme://user:password@host -> scheme://user:***@host
_USERINFO = re.compile(r"(?i)(?<![a-z0-9+.\-])([a-z][a-z0-9+.\-]*+://[^:/?#@\s]*+):([^/?#\s]+)@")
# Services that put the credential in the URL path.
_PATH_SECRETS = re.compile(
    r"(?i)(api\.telegram\.org/(?:file/)?bot)[^/\s]++"
    r"|(discord(?:app)?\.com/api/webhooks/\d++/)[^/?\s\"']++"
)
# Unquoted header lines: the value runs to the end of the line because
# cookies and auth schemes contain spaces, commas and semicolons.
_HEADER_LINE = re.compile(
    r"(?im)(?<![\w\"'-])((?:set-|proxy-)?(?:cookie|authorization)[ \t]*+:[ \t]*+)"
    r"(?![\"'\s])[^\r\n]++"
)
# PostgreSQL error details quote the row or key values that failed a constraint: a stored
# ciphertext, a password hash, a name. The message and the constraint name stay.
_ROW_DETAIL = re.compile(r"(?i)(failing row contains[ \t]*+)[^\r\n]++")
_ARGUMENT = re.compile(r"(invalid input for query argument \$\d++:[ \t]*+)[^\r\n]++")
_KEY_DETAIL = re.compile(r"(\bKey \((?:[^()\r\n]|\([^()\r\n]*+\))*+\)=)\([^\r\n]++")
_BEARER = re.compile(r"(?i)\b(bearer)\s++[\w\-.~+/]++=*+")
_BASIC = re.compile(r"(?i)\b(basic)\s++([A-Za-z0-9+/]++=*+)")
# Substrings at least one of which every pattern above (and every sensitive
# key) needs; most log text has none, and plain substring tests are far
# cheaper than running six regexes.
_TRIGGERS = (
    "://",
    "key",
    "pass",
    "pwd",
    "secret",
    "token",
    "auth",
    "bearer",
    "basic",
    "cookie",
    "session",
    "credential",
    "jwt",
    "failing row",
    "query argument",
)
# key=value, key: value, "key": "value", 'key': b'value' - in query strings,
# JSON bodies, reprs and prose alike. Any word matches _KEY_LEAD; only when
# is_sensitive_key says it names a credential is the value after it parsed
# (and replaced), so every character is scanned a bounded number of times.
_KEY_LEAD = re.compile(
    r"(?<![\w-])(?:b?(?P<q>[\"']))?(?P<key>[\w-]++)(?(q)(?P=q))[ \t]*+[:=][ \t]*+"
)
# A quoted value may lack its closing quote: bodies are often truncated.
_VALUE = re.compile(r"b?\"(?:[^\"\\]|\\.)*+\"?|b?'(?:[^'\\]|\\.)*+'?|[^\s&;,'\"}\])#]++")


def _basic(match: re.Match[str]) -> str:
    # "Basic" is an ordinary English word; only redact what really decodes
    # to user:password so "Basic authentication" survives.
    try:
        decoded = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    return f"{match.group(1)} {REDACTED}" if b":" in decoded else match.group(0)


def _redact_pairs(text: str) -> str:
    parts: list[str] = []
    copied = 0  # text[:copied] is already in parts
    pos = 0
    while (lead := _KEY_LEAD.search(text, pos)) is not None:
        pos = lead.end()
        if not is_sensitive_key(lead.group("key")):
            continue
        value = _VALUE.match(text, pos)
        if value is None:
            continue
        raw = value.group()
        quote = raw[-1] if raw[-1] in "\"'" and len(raw) > 1 else ""
        parts += [text[copied:pos], quote, REDACTED, quote]
        copied = pos = value.end()
    if not parts:
        return text
    parts.append(text[copied:])
    return "".join(parts)


def redact_text(text: str) -> str:
    """Return text with credentials in URLs, headers, auth schemes and key=value pairs masked."""
    lowered = text.lower()
    if not any(trigger in lowered for trigger in _TRIGGERS):
        return text
    text = _USERINFO.sub(rf"\1:{REDACTED}@", text)
    text = _PATH_SECRETS.sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, text)
    text = _HEADER_LINE.sub(rf"\1{REDACTED}", text)
    text = _ROW_DETAIL.sub(rf"\1({REDACTED})", text)
    text = _KEY_DETAIL.sub(rf"\1({REDACTED})", text)
    text = _ARGUMENT.sub(rf"\1{REDACTED}", text)
    text = _BEARER.sub(rf"\1 {REDACTED}", text)
    text = _BASIC.sub(_basic, text)
    return _redact_pairs(text)


def _is_sensitive_name(key: object) -> bool:
    if isinstance(key, str):
        return is_sensitive_key(key)
    if isinstance(key, bytes | bytearray):
        return is_sensitive_key(bytes(key).decode("latin-1"))
    return False


def _masked(value: object) -> object:
    # None stays None: "no key configured" is useful and reveals nothing.
    return None if value is None else REDACTED


def _redact(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        # latin-1 round-trips every byte, so non-secret bytes come back unchanged.
        return redact_text(bytes(value).decode("latin-1")).encode("latin-1")
    if depth >= _MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        # The *arr apps' settings are lists of {"name": "apiKey", "value": "..."} fields.
        named = _is_sensitive_name(value.get("name")) if "value" in value else False
        return {
            k: _masked(v)
            if _is_sensitive_name(k) or (named and k == "value")
            else _redact(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        # A (name, value) pair, as in header lists: [("X-Api-Key", "...")].
        if len(value) == 2 and _is_sensitive_name(value[0]):
            items = [_redact(value[0], depth + 1), _masked(value[1])]
        else:
            items = [_redact(item, depth + 1) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, set | frozenset):
        return [_redact(item, depth + 1) for item in value]
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    # Anything else would be str()/repr()'d by the renderer anyway; doing it
    # here means its text is redacted too (e.g. a model repr with api_key='x').
    try:
        text = str(value)
    except Exception:
        text = object.__repr__(value)
    return redact_text(text)


def redact(value: Any) -> Any:
    """Return a redacted copy of value; the caller's objects are never mutated."""
    return _redact(value, 0)


def redact_event(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Structlog processor applying redact to every field of the event."""
    return {
        key: _masked(value) if _is_sensitive_name(key) else _redact(value, 1)
        for key, value in event_dict.items()
    }
