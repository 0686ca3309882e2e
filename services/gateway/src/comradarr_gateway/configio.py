"""Configuration export and import (req. 30.5): settings, throttle profiles, connectors,
schedules and notification channels, never a secret.

An import is checked as a whole before anything is written: every problem is listed, and
then nothing changes. The secrets an export leaves out (connector API keys, channel URLs)
are asked for again and checked with the same models the API's create routes use, so the
rules live in one place. Everything is written in one transaction: all or nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from comradarr_channels import KINDS, create_channel, list_channels, normalise_events
from comradarr_connectors import list_connectors
from comradarr_crypto import SecretBox
from comradarr_db import Connection
from comradarr_schedules import create_schedule, is_valid, is_valid_timezone, list_schedules
from comradarr_throttle import ThrottleProfile, create_profile, list_profiles, set_default_profile
from pydantic import BaseModel, Field, ValidationError

from . import repo
from .appsettings import AppSettings
from .models import ConnectorCreate, Strict
from .routes_connectors import insert_connector
from .routes_notifications import ChannelIn, resolve_secret
from .routes_throttle import ThrottleProfileCreate, _typed
from .text import Line

# Far above any real install, small enough that a hostile file cannot make us work long.
MAX_ITEMS = 200
Name = Annotated[str, Field(min_length=1, max_length=100)]
Item = dict[Annotated[str, Field(max_length=64)], Any]


class ProfileDoc(ThrottleProfileCreate):
    """A custom throttle profile as exported (presets are the same everywhere)."""


class ScheduleDoc(Strict):
    """A schedule; its connector by name. (throttle_profile: read from older files only; a
    schedule has no profile of its own, so it goes to its connector if that has none.)"""

    name: Line = Field(default="", max_length=100)
    connector: Name
    sweep_type: Literal["gaps", "upgrades", "both"] = "both"
    sync_mode: Literal["incremental", "full"] = "incremental"
    cron: str = Field(min_length=9, max_length=120)
    timezone: str = Field(min_length=1, max_length=64)
    throttle_profile: Name | None = None
    enabled: bool = True


class ConfigDocument(Strict):
    """Everything an install is configured with, without a secret."""

    format: Literal["comradarr-config"] = "comradarr-config"
    format_version: Literal[1, 2] = 2
    exported_at: datetime | None = None
    settings: Item = Field(default_factory=dict)
    default_throttle_profile: Name | None = None
    throttle_profiles: list[ProfileDoc] = Field(default_factory=list, max_length=MAX_ITEMS)
    # Checked item by item with the API's own models on import (ConnectorCreate, ChannelIn).
    connectors: list[Item] = Field(default_factory=list, max_length=MAX_ITEMS)
    schedules: list[ScheduleDoc] = Field(default_factory=list, max_length=MAX_ITEMS * 5)
    notification_channels: list[Item] = Field(default_factory=list, max_length=MAX_ITEMS)
    # The first export format listed API keys (descriptions only); they are not imported.
    api_keys: list[Item] = Field(default_factory=list, max_length=MAX_ITEMS)


class ChannelSecretIn(Strict):
    """A channel's secret, given again: its Apprise URL, or its form's secret fields."""

    url: str | None = Field(default=None, max_length=2048)
    fields: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=2048)]] = (
        Field(default_factory=dict, max_length=20)
    )


class ImportSecrets(Strict):
    """The secrets an export leaves out, by the name of what they belong to."""

    connectors: dict[Name, Annotated[str, Field(max_length=512)]] = Field(
        default_factory=dict, max_length=MAX_ITEMS, description="Connector name -> API key."
    )
    channels: dict[Name, ChannelSecretIn] = Field(
        default_factory=dict, max_length=MAX_ITEMS, description="Channel name -> its secret."
    )


class ImportSummary(BaseModel):
    """What an import created."""

    settings: int
    throttle_profiles: int
    connectors: int
    schedules: int
    notification_channels: int


class ImportProblems(ValueError):
    """Everything wrong with an import; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


# --- export -----------------------------------------------------------------------------


async def export_config(
    conn: Connection, *, settings: AppSettings, now: datetime
) -> ConfigDocument:
    """The install's configuration, without a secret."""
    profiles = await list_profiles(conn)
    names = {p.id: p.name for p in profiles}
    default = next((p.name for p in profiles if p.is_default), None)
    connectors = await list_connectors(conn)
    connector_names = {c.id: c.name for c in connectors}
    channels = await list_channels(conn)
    return ConfigDocument(
        exported_at=now,
        settings=settings.model_dump(mode="json"),
        default_throttle_profile=default,
        throttle_profiles=[
            ProfileDoc.model_validate(
                {
                    **{f: getattr(p, f) for f in ThrottleProfileCreate.model_fields},
                    "budget_reset_time": p.budget_reset_time.strftime("%H:%M"),
                }
            )
            for p in profiles
            if not p.is_preset
        ],
        connectors=[
            {
                "type": c.type,
                "name": c.name,
                "url": c.url,
                "enabled": c.enabled,
                "verify_ssl": c.verify_ssl,
                "timeout_seconds": c.timeout_seconds,
                "format_upgrades": c.format_upgrades,
                "queue_limit": c.queue_limit,
                "search_windows": c.search_windows,
                "search_timezone": c.search_timezone,
                "throttle_profile": names.get(c.throttle_profile_id or 0),
            }
            for c in connectors
        ],
        schedules=[
            ScheduleDoc(
                name=s.name,
                connector=connector_names[s.connector_id],
                sweep_type=s.sweep_type,  # type: ignore[arg-type]
                sync_mode=s.sync_mode,  # type: ignore[arg-type]
                cron=s.cron,
                timezone=s.timezone,
                enabled=s.enabled,
            )
            for s in await list_schedules(conn)
            if s.connector_id in connector_names
        ],
        notification_channels=[
            {
                "name": ch.name,
                "kind": ch.kind,
                # The form without its secrets (they are asked for on import).
                "fields": {
                    k: v
                    for k, v in ch.fields.items()
                    if k not in _secret_fields(ch.kind, ch.fields)
                },
                "events": ch.events,
                "enabled": ch.enabled,
                "digest_minutes": ch.digest_minutes,
                "quiet_hours": ch.quiet_hours.model_dump(mode="json") if ch.quiet_hours else None,
            }
            for ch in channels
        ],
    )


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A settings tree as the dotted keys the settings table stores."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _secret_fields(kind: str, fields: Mapping[str, str]) -> frozenset[str]:
    spec = KINDS.get(kind)
    return spec.secret_fields if spec is not None else frozenset(fields)


# --- import -----------------------------------------------------------------------------


@dataclasses.dataclass
class _Plan:
    settings: dict[str, Any] | None  # None: the file has none, the install's stay
    profiles: list[ThrottleProfile]
    default_profile: str | None
    connectors: list[tuple[ConnectorCreate, str | None]]
    schedules: list[ScheduleDoc]
    channels: list[tuple[ChannelIn, str, dict[str, str]]]


def _errors(where: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        out.append(f"{where}: {loc + ': ' if loc else ''}{err['msg']}")
    return out


def _unique(kind: str, names: list[str], taken: set[str], problems: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        key = name.strip().lower()
        if key in seen:
            problems.append(f"{kind} '{name}' appears twice")
        elif key in taken:
            problems.append(f"{kind} '{name}' already exists in this install")
        seen.add(key)


async def _taken(conn: Connection) -> dict[str, set[str]]:
    return {
        "profiles": {p.name.lower() for p in await list_profiles(conn)},
        "connectors": {c.name.lower() for c in await list_connectors(conn)},
        "channels": {c.name.lower() for c in await list_channels(conn)},
    }


# Settings → Search keys no service read, dropped when the knobs got one home each (gateway
# 0011): cooldown, backoff and attempts are the throttle profile's; the old weights were on
# another scale.
_RETIRED_SEARCH = ("cooldown_hours", "backoff_multiplier", "max_attempts")
_OLD_WEIGHTS = {"gap", "upgrade", "recently_aired"}


def _current(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A file's settings tree without the Search keys that no longer exist."""
    out = dict(settings)
    search = out.get("search")
    if isinstance(search, Mapping):
        search = {k: v for k, v in search.items() if k not in _RETIRED_SEARCH}
        weights = search.get("priority_weights")
        if isinstance(weights, Mapping) and _OLD_WEIGHTS & set(weights):
            search.pop("priority_weights")
        out["search"] = search
    return out


def plan_import(
    doc: ConfigDocument, secrets: ImportSecrets, taken: Mapping[str, set[str]]
) -> _Plan:
    """Check the whole document and its secrets; ImportProblems lists everything wrong."""
    problems: list[str] = []
    # Settings: the whole tree, with the bounds PATCH /settings enforces.
    settings: dict[str, Any] | None = None
    if doc.settings:
        try:
            full = AppSettings.model_validate(_current(doc.settings)).model_dump(mode="json")
            defaults = _leaves(AppSettings().model_dump(mode="json"))
            settings = {k: v for k, v in _leaves(full).items() if defaults.get(k) != v}
        except ValidationError as exc:
            problems += _errors("settings", exc)

    profile_names = [p.name for p in doc.throttle_profiles]
    _unique("throttle profile", profile_names, taken["profiles"], problems)
    profiles = []
    for i, p in enumerate(doc.throttle_profiles):
        try:
            profiles.append(ThrottleProfile(**_typed(p.model_dump())))
        except ValueError as exc:
            problems.append(f"throttle_profiles[{i}] '{p.name}': {exc}")
    known_profiles = taken["profiles"] | {n.lower() for n in profile_names}
    if doc.default_throttle_profile and doc.default_throttle_profile.lower() not in known_profiles:
        problems.append(f"default throttle profile '{doc.default_throttle_profile}' is unknown")

    connectors: list[tuple[ConnectorCreate, str | None]] = []
    connector_names: list[str] = []
    for i, item in enumerate(doc.connectors):
        values = dict(item)
        profile = values.pop("throttle_profile", None)
        name = str(values.get("name", f"#{i}"))[:100]
        connector_names.append(name)
        key = secrets.connectors.get(name)
        if key is None:
            problems.append(f"connector '{name}': its API key is needed (secrets.connectors)")
            key = "0" * 32  # still check the rest of the item
        if profile is not None and (
            not isinstance(profile, str) or profile.lower() not in known_profiles
        ):
            problems.append(f"connector '{name}': throttle profile {profile!r} is unknown")
        try:
            body = ConnectorCreate.model_validate({**values, "api_key": key})
        except ValidationError as exc:
            problems += _errors(f"connectors[{i}] '{name}'", exc)
            continue
        connectors.append((body, profile if isinstance(profile, str) else None))
    _unique("connector", connector_names, taken["connectors"], problems)
    known_connectors = taken["connectors"] | {n.lower() for n in connector_names}

    for i, s in enumerate(doc.schedules):
        where = f"schedules[{i}] '{s.name or s.cron}'"
        if s.connector.lower() not in known_connectors:
            problems.append(f"{where}: connector '{s.connector}' is unknown")
        if s.throttle_profile and s.throttle_profile.lower() not in known_profiles:
            problems.append(f"{where}: throttle profile '{s.throttle_profile}' is unknown")
        if not is_valid(s.cron):
            problems.append(f"{where}: not a five-field cron expression: {s.cron!r}")
        if not is_valid_timezone(s.timezone):
            problems.append(f"{where}: unknown time zone {s.timezone!r}")

    channels: list[tuple[ChannelIn, str, dict[str, str]]] = []
    channel_names: list[str] = []
    for i, item in enumerate(doc.notification_channels):
        name = str(item.get("name", f"#{i}"))[:100]
        channel_names.append(name)
        secret = secrets.channels.get(name)
        if secret is None:
            problems.append(f"channel '{name}': its URL or secret fields are needed")
            continue
        exported = item.get("fields") or {}
        if not isinstance(exported, dict):
            problems.append(f"channel '{name}': fields must be an object")
            continue
        fields = {**exported, **secret.fields}
        try:
            channel = ChannelIn.model_validate({**item, "url": secret.url, "fields": fields})
            kind = channel.kind or "apprise"
            resolved = resolve_secret(kind, channel.url, channel.fields)
            events = normalise_events(channel.events)
        except ValidationError as exc:
            problems += _errors(f"notification_channels[{i}] '{name}'", exc)
            continue
        except ValueError as exc:
            problems.append(f"channel '{name}': {exc}")
            continue
        channels.append(
            (channel.model_copy(update={"events": events}), resolved.url, resolved.fields)
        )
    _unique("channel", channel_names, taken["channels"], problems)

    for name in secrets.connectors.keys() - set(connector_names):
        problems.append(f"secrets.connectors names '{name}', which the file does not have")
    for name in secrets.channels.keys() - set(channel_names):
        problems.append(f"secrets.channels names '{name}', which the file does not have")
    if problems:
        raise ImportProblems(problems)
    return _Plan(
        settings=settings,
        profiles=profiles,
        default_profile=doc.default_throttle_profile,
        connectors=connectors,
        schedules=list(doc.schedules),
        channels=channels,
    )


async def import_config(
    conn: Connection, *, box: SecretBox, doc: ConfigDocument, secrets: ImportSecrets
) -> ImportSummary:
    """Check everything, then write it all in one transaction (ImportProblems: nothing
    written)."""
    async with conn.transaction():
        # Checked inside the transaction: the names it compares against cannot change meanwhile.
        await conn.execute(
            "LOCK TABLE connectors, throttle_profiles, notification_channels"
            " IN SHARE ROW EXCLUSIVE MODE"
        )
        plan = plan_import(doc, secrets, await _taken(conn))
        if plan.settings is not None:
            # The file's settings replace the install's (a value at its default is not kept).
            keys = set(_leaves(AppSettings().model_dump(mode="json")))
            await conn.execute("DELETE FROM settings WHERE key = ANY ($1::text[])", sorted(keys))
            await repo.save_settings(conn, values=plan.settings)
        for p in plan.profiles:
            await create_profile(conn, profile=p)
        profile_ids = {p.name.lower(): p.id for p in await list_profiles(conn)}
        if plan.default_profile:
            default_id = profile_ids[plan.default_profile.lower()]
            assert default_id is not None
            await set_default_profile(conn, profile_id=default_id)
        for body, profile in plan.connectors:
            await insert_connector(
                conn,
                box=box,
                body=body,
                timezone="UTC",
                throttle_profile_id=profile_ids[profile.lower()] if profile else None,
            )
        connector_ids = {c.name.lower(): c.id for c in await list_connectors(conn)}
        for s in plan.schedules:
            if s.throttle_profile:  # an older file: the profile belongs to the connector
                await conn.execute(
                    "UPDATE connectors SET throttle_profile_id = $2"
                    " WHERE id = $1 AND throttle_profile_id IS NULL",
                    connector_ids[s.connector.lower()],
                    profile_ids[s.throttle_profile.lower()],
                )
            await create_schedule(
                conn,
                connector_id=connector_ids[s.connector.lower()],
                cron=s.cron,
                name=s.name,
                sweep_type=s.sweep_type,
                sync_mode=s.sync_mode,
                timezone=s.timezone,
                enabled=s.enabled,
            )
        for channel, url, fields in plan.channels:
            await create_channel(
                conn,
                box=box,
                name=channel.name.strip(),
                kind=channel.kind or "apprise",
                url=url,
                fields=fields,
                events=channel.events or [],
                enabled=channel.enabled,
                digest_minutes=channel.digest_minutes,
                quiet=channel.quiet_hours,
            )
    return ImportSummary(
        settings=len(plan.settings or {}),
        throttle_profiles=len(plan.profiles),
        connectors=len(plan.connectors),
        schedules=len(plan.schedules),
        notification_channels=len(plan.channels),
    )
