"""Pages that refresh themselves while they are open (queue, dashboard)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import api
from .state import app_path


async def follow(
    state: Any,
    *,
    path: str,
    seconds: float,
    fetch: Callable[[api.Session, Any], Awaitable[Any]],
    apply: Callable[[Any], None],
    params: Callable[[], Any] = lambda: None,
) -> None:
    """Body of a background event: every `seconds`, while the tab shows `path` and until
    `state._watch_until`, fetch (as this session, with `params()` read under the state's
    lock) and apply the result. One loop per tab (`state._polling`); `state.live` says it
    runs. Stops on a 401 (the next page load signs in again)."""
    async with state:
        if state._polling:
            return
        state._polling = True
        state.live = True
        session = state._session()
    try:
        while True:
            await asyncio.sleep(seconds)
            async with state:
                here = app_path(state.router.url.path).rstrip("/") or "/"
                if here != path or time.monotonic() > state._watch_until:
                    return
                asked = params()
            try:
                got = await fetch(session, asked)
            except api.Unauthorized:
                return
            except api.GatewayError:
                continue
            async with state:
                apply(got)
    finally:
        async with state:
            state._polling = False
            state.live = False
