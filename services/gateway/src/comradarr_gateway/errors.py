"""Client errors in the same shape as FastAPI's validation errors (the field is named)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import HTTPException


def invalid(loc: Sequence[str | int], msg: str, *, kind: str = "value_error") -> HTTPException:
    """A 422 naming the offending field, e.g. invalid(("body", "cron"), "not a cron")."""
    return HTTPException(422, [{"loc": list(loc), "msg": msg, "type": kind}])
