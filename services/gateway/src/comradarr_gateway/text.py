"""Validated text types: nothing a client sends reaches PostgreSQL or a hash as bad text."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from comradarr_arr import api_key_problem
from pydantic import AfterValidator, Field


def _clean(value: str) -> str:
    # NUL is not storable in PostgreSQL text; lone surrogates cannot be encoded as UTF-8.
    for ch in value:
        if ch == "\x00" or unicodedata.category(ch) == "Cs":
            raise ValueError("contains characters that are not allowed (NUL or surrogates)")
    return value


def _single_line(value: str) -> str:
    _clean(value)
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _arr_key(value: str) -> str:
    problem = api_key_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Secret = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_clean)]
Line = Annotated[str, AfterValidator(_single_line)]
Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[str, Field(min_length=10, max_length=1024), AfterValidator(_clean)]
# An *arr API key: it travels in an HTTP header, so printable ASCII only (checked here, not
# when the first sweep fails on it).
ArrApiKey = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_arr_key)]
