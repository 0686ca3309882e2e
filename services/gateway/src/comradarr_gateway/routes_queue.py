"""The search queue: priority order with reasons and estimates, recent completions, pause,
resume and clear (ControlQueue commands to the dispatcher), one entry's priority or removal."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, Literal

from comradarr_logging import get_logger
from comradarr_proto import ControlQueue
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from . import indexers_repo, queue_repo
from .content_repo import TOTAL_CAP
from .errors import invalid
from .fastjson import FastJSONResponse
from .models import ErrorBody, Strict
from .security import (
    Principal,
    ProtectedRoute,
    current_principal,
    request_connection,
    shares_auth_connection,
)
from .state import gateway_of
from .totals import TotalCache

log = get_logger(__name__)

# A page polled by every open queue view: its total is counted at most this often.
TOTAL_TTL_SECONDS = 2.0
# Whether every indexer is rate limited changes once per indexer poll (minutes): read at
# most this often.
INDEXER_NOTICE_TTL_SECONDS = 5.0

IdPath = Annotated[int, Path(ge=1, le=2**53)]
ConnectorQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No queue entry has that id"}
}
_UNAVAILABLE = {"model": ErrorBody, "description": "The message bus is unavailable"}


class WaitReason(BaseModel):
    """Why an entry waits: a code for the UI and a sentence for people."""

    code: Literal[
        "next",
        "waiting_turn",
        "in_flight",
        "cooldown",
        "queue_paused",
        "connector_disabled",
        "connector_unhealthy",
        "connector_paused",
        "connector_missing",
        "throttle_paused",
        "budget_spent",
        "indexers_rate_limited",
        "outside_window",
        "download_queue",
    ]
    message: str
    until: datetime | None = None


class QueueItem(BaseModel):
    """A registry entry in the queue."""

    id: int = Field(description="Registry id.")
    connector_id: int
    content_type: Literal["episode", "movie"]
    content_id: int | None = Field(description="Series id for episodes, movie id for movies.")
    episode_id: int | None
    movie_id: int | None
    title: str | None
    search_type: Literal["gap", "upgrade", "format"] = Field(
        description="gap: no file; upgrade: quality below the cutoff; format: quality at the"
        " cutoff, custom-format score below the profile's cutoff score."
    )
    upgrade_detail: str | None = Field(
        default=None, description="Format-score upgrades: e.g. 'format score 40 < 100'."
    )
    state: Literal["pending", "queued", "searching", "cooldown", "exhausted"]
    attempts: int
    priority: float
    priority_parts: dict[str, Any]
    user_priority: int | None
    next_eligible_at: datetime
    last_searched_at: datetime | None
    last_error: str | None
    position: int | None = Field(
        default=None, description="Eligible entries of its connector ahead of it."
    )
    estimated_dispatch_at: datetime | None = None
    waiting: list[WaitReason] = Field(default_factory=list)


class QueuePage(BaseModel):
    """A page of the queue, best first."""

    paused: bool = Field(description="The whole queue is paused.")
    paused_connectors: list[int]
    total: int = Field(
        description=f"Entries not exhausted, counted up to {TOTAL_CAP} (the count may be up"
        f" to {TOTAL_TTL_SECONDS:g} s old)."
    )
    total_capped: bool
    page: int
    page_size: int
    items: list[QueueItem]


class RecentSearch(BaseModel):
    """A search that ended."""

    id: int
    registry_id: int | None = Field(
        description="Null once its queue entry is gone (found, or no longer wanted): the"
        " history outlives it."
    )
    connector_id: int
    content_type: str | None
    title: str | None
    command_name: str | None
    search_type: str
    outcome: str
    error: str | None
    started_at: datetime
    ended_at: datetime | None


class QueueScope(Strict):
    """Pause or resume: the whole queue, or one connector's."""

    connector_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ClearRequest(Strict):
    """Clearing removes every waiting entry (discovery recreates those still wanting)."""

    confirm: bool = Field(description="Must be true.")
    connector_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class QueueControlAccepted(BaseModel):
    """The command was handed to the dispatcher."""

    action: Literal["pause", "resume", "clear"]
    connector_id: int | None
    message_id: str


class PriorityChange(Strict):
    """The user's priority nudge for one entry, -100..100 (null clears); discovery folds it
    into the score on its next pass."""

    priority: int | None = Field(ge=-100, le=100)


_QUEUE_ITEM_FIELDS = frozenset(QueueItem.model_fields)
# What a queue_repo row carries; the list adds position, estimate and reasons itself.
_QUEUE_ROW_FIELDS = tuple(
    f for f in QueueItem.model_fields if f not in ("position", "estimated_dispatch_at", "waiting")
)


def _item(row: dict[str, Any]) -> QueueItem:
    # The field names once: reading Model.model_fields costs a property call each time.
    return QueueItem.model_validate({k: v for k, v in row.items() if k in _QUEUE_ITEM_FIELDS})


def queue_router() -> APIRouter:
    """Routes under /queue."""
    router = APIRouter(prefix="/queue", tags=["queue"], route_class=ProtectedRoute)
    totals = TotalCache(ttl=TOTAL_TTL_SECONDS)
    # (monotonic time read, when every indexer comes back or None)
    notice_cache: list[tuple[float, datetime | None]] = []

    async def indexers_notice(conn: Any, now: datetime) -> dict[str, Any] | None:
        """The wait reason every searchable entry carries while every indexer is rate
        limited (informational: searches still go out; Prowlarr skips the indexers)."""
        if not notice_cache or time.monotonic() - notice_cache[0][0] > INDEXER_NOTICE_TTL_SECONDS:
            found = await indexers_repo.all_rate_limited_until(conn, now=now)
            notice_cache[:] = [(time.monotonic(), found)]
        until = notice_cache[0][1]
        if until is None or until <= now:
            return None
        return {
            "code": "indexers_rate_limited",
            "message": "every indexer is rate limited in Prowlarr: searches still go out,"
            " but find nothing until one is back",
            "until": until,
        }

    @router.get("", response_model=QueuePage)
    @shares_auth_connection
    async def list_queue(
        request: Request,
        connector_id: ConnectorQuery = None,
        state: Annotated[
            Literal["pending", "queued", "searching", "cooldown"] | None, Query()
        ] = None,
        search_type: Annotated[Literal["gap", "upgrade", "format"] | None, Query()] = None,
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Response:
        gw = gateway_of(request)
        now = gw.now()
        app = await gw.app_settings()
        tz, search_types = app.general.timezone, app.search.search_types()
        async with request_connection(request) as conn:
            cached = totals.get((connector_id, state, search_type))
            rows, counted = await queue_repo.page(
                conn,
                connector_id=connector_id,
                state=state,
                search_type=search_type,
                limit=page_size,
                offset=(page - 1) * page_size,
                now=now,
                with_total=cached is None,
            )
            if counted is not None:
                totals.put((connector_id, state, search_type), counted)
            total = cached if counted is None else counted
            assert total is not None
            flags = await queue_repo.queue_pause_flags(conn)
            views = await queue_repo.connector_views(
                conn, connector_ids={r["connector_id"] for r in rows}, flags=flags, now=now
            )
            # Eligible entries ahead of each connector's first entry on this page; the rest
            # of the page counts on from there (the page is in the same order). The first
            # page of every state holds everything ahead of its entries: nothing to count.
            ahead: dict[int, int] = {}
            if page > 1 or state is not None or search_type is not None:
                for r in rows:
                    cid = r["connector_id"]
                    if cid not in ahead and r["state"] in ("pending", "cooldown"):
                        ahead[cid] = await queue_repo.eligible_ahead(
                            conn,
                            connector_id=cid,
                            priority=r["priority"],
                            entry_id=r["id"],
                            now=now,
                        )
            notice = await indexers_notice(conn, now) if rows else None
        items: list[dict[str, Any]] = []
        for r in rows:
            cid = r["connector_id"]
            eligible_now = r["state"] in ("pending", "cooldown") and r["next_eligible_at"] <= now
            n = ahead.get(cid, 0)
            reasons, estimate = queue_repo.explain(
                r, views.get(cid), ahead=n, now=now, tz=tz, search_types=search_types
            )
            item = {k: r[k] for k in _QUEUE_ROW_FIELDS}
            item["position"] = n if estimate is not None else None
            item["estimated_dispatch_at"] = estimate
            item["waiting"] = [
                {"code": x.code, "message": x.message, "until": x.until} for x in reasons
            ]
            if notice is not None and estimate is not None:
                item["waiting"].append(notice)
            if eligible_now:
                ahead[cid] = n + 1
            items.append(item)
        return FastJSONResponse(
            {
                "paused": flags.get(0, False),
                "paused_connectors": sorted(c for c, p in flags.items() if p and c != 0),
                "total": min(total, TOTAL_CAP),
                "total_capped": total > TOTAL_CAP,
                "page": page,
                "page_size": page_size,
                "items": items,
            }
        )

    @router.get("/recent", response_model=list[RecentSearch])
    async def recent(
        request: Request,
        connector_id: ConnectorQuery = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[RecentSearch]:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            rows = await queue_repo.recent(conn, connector_id=connector_id, limit=limit)
        return [RecentSearch.model_validate(r) for r in rows]

    async def _control(
        request: Request, principal: Principal, action: str, connector_id: int | None
    ) -> QueueControlAccepted:
        gw = gateway_of(request)
        if connector_id is not None:
            async with gw.ctx.pool.acquire() as conn:
                exists = await conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM connectors WHERE id = $1)", connector_id
                )
            if not exists:
                raise invalid(("body", "connector_id"), "no connector has that id")
        msg = ControlQueue(
            action=action,
            connector_id=connector_id,
            requested_by=f"user:{principal.username}"[:100],
        )
        try:
            await gw.ctx.bus.publish(msg)
        except Exception:
            log.warning("could not publish a queue command", action=action)
            raise HTTPException(503, "the message bus is unavailable; try again") from None
        log.info("queue command sent", action=action, connector_id=connector_id)
        return QueueControlAccepted(
            action=action,
            connector_id=connector_id,
            message_id=msg.message_id,
        )

    _accepted: dict[int | str, dict[str, Any]] = {503: _UNAVAILABLE}

    @router.post(
        "/pause", status_code=202, response_model=QueueControlAccepted, responses=_accepted
    )
    async def pause(
        request: Request,
        body: QueueScope | None = None,
        principal: Principal = Depends(current_principal),  # noqa: B008
    ) -> QueueControlAccepted:
        return await _control(request, principal, "pause", body.connector_id if body else None)

    @router.post(
        "/resume", status_code=202, response_model=QueueControlAccepted, responses=_accepted
    )
    async def resume(
        request: Request,
        body: QueueScope | None = None,
        principal: Principal = Depends(current_principal),  # noqa: B008
    ) -> QueueControlAccepted:
        return await _control(request, principal, "resume", body.connector_id if body else None)

    @router.post(
        "/clear", status_code=202, response_model=QueueControlAccepted, responses=_accepted
    )
    async def clear(
        body: ClearRequest,
        request: Request,
        principal: Principal = Depends(current_principal),  # noqa: B008
    ) -> QueueControlAccepted:
        if body.confirm is not True:
            raise invalid(("body", "confirm"), "confirm must be true to clear the queue")
        return await _control(request, principal, "clear", body.connector_id)

    @router.patch("/{registry_id}", response_model=QueueItem, responses=_NOT_FOUND)
    async def set_priority(
        registry_id: IdPath, body: PriorityChange, request: Request
    ) -> QueueItem:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            if not await queue_repo.set_user_priority(
                conn, entry_id=registry_id, value=body.priority
            ):
                raise HTTPException(404, "no queue entry has that id")
            row = await queue_repo.entry(conn, entry_id=registry_id)
        if row is None:
            raise HTTPException(404, "no queue entry has that id")
        return _item(row)

    @router.delete(
        "/{registry_id}",
        status_code=204,
        response_class=Response,
        responses={**_NOT_FOUND, 409: {"model": ErrorBody, "description": "Entry in flight"}},
    )
    async def remove(registry_id: IdPath, request: Request) -> Response:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            outcome = await queue_repo.remove(conn, entry_id=registry_id)
        if outcome == "missing":
            raise HTTPException(404, "no queue entry has that id")
        if outcome == "in_flight":
            raise HTTPException(409, "the entry is being searched; try again when it is done")
        log.info("queue entry removed", registry_id=registry_id)
        return Response(status_code=204)

    return router
