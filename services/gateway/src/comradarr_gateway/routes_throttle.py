"""Throttle profiles: list, read, create, change and delete custom ones (presets read only)."""

from __future__ import annotations

import dataclasses
from datetime import time
from typing import Annotated, Any, Literal

import asyncpg
from comradarr_logging import get_logger
from comradarr_throttle import (
    MODERATE,
    PresetReadOnlyError,
    ProfileNotFoundError,
    ThrottleProfile,
    create_profile,
    default_profile,
    delete_profile,
    get_profile,
    list_profiles,
    set_default_profile,
    update_profile,
)
from fastapi import APIRouter, HTTPException, Path, Request, Response
from pydantic import AfterValidator, BaseModel, Field

from .appsettings import _check_tz
from .errors import invalid
from .models import ErrorBody, Strict
from .security import ProtectedRoute
from .state import gateway_of
from .text import Line

log = get_logger(__name__)

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
BudgetPeriod = Literal[1, 2, 3, 4, 6, 8, 12, 24]
DAY = 86400.0
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No throttle profile has that id"}
}
_PRESET = {"model": ErrorBody, "description": "Presets are read only, or the name is taken"}

# Sane limits: far beyond any sensible setting, but never a value that breaks the math.
Rpm = Annotated[float, Field(gt=0, le=600, description="Commands per minute to a connector.")]
Batch = Annotated[int, Field(ge=1, le=10, description="Items per command (apps take <= 10).")]
Cooldown = Annotated[float, Field(gt=0, le=90 * DAY, description="Seconds.")]
Factor = Annotated[float, Field(ge=1, le=10)]
Attempts = Annotated[int, Field(ge=1, le=1000)]
Budget = Annotated[int, Field(ge=1, le=1_000_000, description="Commands per budget period.")]
Concurrency = Annotated[int, Field(ge=1, le=50)]
RateCooldown = Annotated[float, Field(gt=0, le=DAY, description="Pause after a bare 429, s.")]
Tz = Annotated[str, Field(max_length=64), AfterValidator(_check_tz)]
ResetTime = Annotated[
    str,
    Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        examples=["04:00"],
        description="Local wall time (HH:MM, 24 h) the budget resets, in the profile's timezone.",
    ),
]


class ThrottleProfileOut(BaseModel):
    """A throttle profile; presets have is_preset true and cannot be changed."""

    id: int
    name: str
    requests_per_minute: float
    batch_size: int
    cooldown_base_seconds: float
    cooldown_factor: float
    cooldown_max_seconds: float
    max_attempts: int
    daily_budget: int
    budget_reset_time: ResetTime
    budget_period_hours: int
    timezone: str
    max_concurrent_per_connector: int
    max_concurrent_per_series: int
    rate_limit_cooldown_seconds: float
    is_preset: bool
    is_default: bool


class ThrottleProfileCreate(Strict):
    """A custom profile; unset values are the Moderate preset's."""

    name: Line = Field(min_length=1, max_length=100)
    requests_per_minute: Rpm = MODERATE.requests_per_minute
    batch_size: Batch = MODERATE.batch_size
    cooldown_base_seconds: Cooldown = MODERATE.cooldown_base_seconds
    cooldown_factor: Factor = MODERATE.cooldown_factor
    cooldown_max_seconds: Cooldown = MODERATE.cooldown_max_seconds
    max_attempts: Attempts = MODERATE.max_attempts
    daily_budget: Budget = MODERATE.daily_budget
    budget_reset_time: ResetTime = "00:00"
    budget_period_hours: BudgetPeriod = 24
    timezone: Tz = "UTC"
    max_concurrent_per_connector: Concurrency = MODERATE.max_concurrent_per_connector
    max_concurrent_per_series: Concurrency = MODERATE.max_concurrent_per_series
    rate_limit_cooldown_seconds: RateCooldown = MODERATE.rate_limit_cooldown_seconds


class ThrottleProfileUpdate(Strict):
    """Changes to a custom profile (checked together with the values it keeps)."""

    name: Line | None = Field(default=None, min_length=1, max_length=100)
    requests_per_minute: Rpm | None = None
    batch_size: Batch | None = None
    cooldown_base_seconds: Cooldown | None = None
    cooldown_factor: Factor | None = None
    cooldown_max_seconds: Cooldown | None = None
    max_attempts: Attempts | None = None
    daily_budget: Budget | None = None
    budget_reset_time: ResetTime | None = None
    budget_period_hours: BudgetPeriod | None = None
    timezone: Tz | None = None
    max_concurrent_per_connector: Concurrency | None = None
    max_concurrent_per_series: Concurrency | None = None
    rate_limit_cooldown_seconds: RateCooldown | None = None


class DefaultProfileIn(Strict):
    """Which profile connectors without one of their own use."""

    profile_id: int = Field(ge=1, le=2**31 - 1)


def profile_out(p: ThrottleProfile) -> ThrottleProfileOut:
    """The API view of a profile."""
    data = {f.name: getattr(p, f.name) for f in dataclasses.fields(p)}
    data["budget_reset_time"] = p.budget_reset_time.strftime("%H:%M")
    return ThrottleProfileOut.model_validate(data)


def _field_of(problem: str) -> str:
    """The field a validate() message is about (its first word names it)."""
    first = problem.split()[0] if problem else "body"
    return {"cooldowns": "cooldown_max_seconds", "concurrency": "max_concurrent_per_connector"}.get(
        first, first
    )


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    """API values as the profile holds them (HH:MM text becomes a time)."""
    if isinstance(values.get("budget_reset_time"), str):
        hours, minutes = values["budget_reset_time"].split(":")
        values = {**values, "budget_reset_time": time(int(hours), int(minutes))}
    return values


def _build(base: ThrottleProfile | None, values: dict[str, Any]) -> ThrottleProfile:
    """The profile these values make, or a 422 naming the first field that is wrong."""
    values = _typed(values)
    try:
        if base is None:
            return ThrottleProfile(**values)
        return dataclasses.replace(base, **values)
    except ValueError as exc:
        message = str(exc)
        raise invalid(("body", _field_of(message)), message) from None


def throttle_router() -> APIRouter:
    """Routes under /throttle-profiles."""
    router = APIRouter(
        prefix="/throttle-profiles", tags=["throttle profiles"], route_class=ProtectedRoute
    )

    @router.get("", response_model=list[ThrottleProfileOut])
    async def list_all(request: Request) -> list[ThrottleProfileOut]:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            return [profile_out(p) for p in await list_profiles(conn)]

    @router.post("", status_code=201, response_model=ThrottleProfileOut, responses={409: _PRESET})
    async def create(body: ThrottleProfileCreate, request: Request) -> ThrottleProfileOut:
        profile = _build(None, body.model_dump())
        try:
            async with gateway_of(request).ctx.pool.acquire() as conn:
                p = await create_profile(conn, profile=profile)
        except asyncpg.UniqueViolationError:
            raise HTTPException(409, "a throttle profile with that name already exists") from None
        log.info("throttle profile created", profile_id=p.id)
        return profile_out(p)

    @router.get("/default", response_model=ThrottleProfileOut)
    async def get_default(request: Request) -> ThrottleProfileOut:
        """The profile of every connector that has none of its own."""
        async with gateway_of(request).ctx.pool.acquire() as conn:
            return profile_out(await default_profile(conn))

    @router.put("/default", response_model=ThrottleProfileOut)
    async def put_default(body: DefaultProfileIn, request: Request) -> ThrottleProfileOut:
        """Make a profile the default; connectors without their own use it from their next
        search on (the dispatcher reads the profile on every claim)."""
        async with gateway_of(request).ctx.pool.acquire() as conn:
            try:
                await set_default_profile(conn, profile_id=body.profile_id)
            except ProfileNotFoundError:
                raise invalid(("body", "profile_id"), "no throttle profile has that id") from None
            p = await default_profile(conn)
        log.info("default throttle profile changed", profile_id=p.id, name=p.name)
        return profile_out(p)

    @router.get("/{profile_id}", response_model=ThrottleProfileOut, responses=_NOT_FOUND)
    async def get_one(profile_id: IdPath, request: Request) -> ThrottleProfileOut:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            try:
                return profile_out(await get_profile(conn, profile_id=profile_id))
            except ProfileNotFoundError:
                raise HTTPException(404, "no throttle profile has that id") from None

    @router.patch(
        "/{profile_id}",
        response_model=ThrottleProfileOut,
        responses={**_NOT_FOUND, 409: _PRESET},
    )
    async def update(
        profile_id: IdPath, body: ThrottleProfileUpdate, request: Request
    ) -> ThrottleProfileOut:
        changes = _typed(
            {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
        )
        try:
            async with gateway_of(request).ctx.pool.acquire() as conn, conn.transaction():
                current = await get_profile(conn, profile_id=profile_id)
                if current.is_preset:
                    raise PresetReadOnlyError(current.name)
                _build(current, changes)
                p = await update_profile(conn, profile_id=profile_id, changes=changes)
        except ProfileNotFoundError:
            raise HTTPException(404, "no throttle profile has that id") from None
        except PresetReadOnlyError:
            raise HTTPException(
                409, "presets are read only; create a custom profile instead"
            ) from None
        except asyncpg.UniqueViolationError:
            raise HTTPException(409, "a throttle profile with that name already exists") from None
        return profile_out(p)

    @router.delete(
        "/{profile_id}",
        status_code=204,
        response_class=Response,
        responses={**_NOT_FOUND, 409: _PRESET},
    )
    async def delete(profile_id: IdPath, request: Request) -> Response:
        try:
            async with gateway_of(request).ctx.pool.acquire() as conn:
                await delete_profile(conn, profile_id=profile_id)
        except ProfileNotFoundError:
            raise HTTPException(404, "no throttle profile has that id") from None
        except PresetReadOnlyError:
            raise HTTPException(409, "presets are read only and cannot be deleted") from None
        log.info("throttle profile deleted", profile_id=profile_id)
        return Response(status_code=204)

    return router
