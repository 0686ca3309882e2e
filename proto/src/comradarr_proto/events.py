"""Events: facts, fanned out on the events stream to every interested service."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ._base import Event
from .commands import SweepType, SyncMode

HealthStatus = Literal["healthy", "degraded", "unhealthy", "offline", "auth_failed"]
CommandName = Literal["EpisodeSearch", "SeasonSearch", "MoviesSearch"]
# What an *arr request was for: the library walk (series, episodes, movies, wanted lists,
# profiles), sending a search command, polling one, reading the grab history, the app's
# status/health/ping, Prowlarr's indexers.
EndpointKind = Literal["library", "command", "command_status", "history", "system", "indexer"]
# Why an *arr request failed: unreachable (refused, DNS, TLS, timeout, dropped), the key
# refused (401/403), 429, 5xx, or another 4xx the app refused.
ErrorCategory = Literal["network", "auth", "rate_limited", "server", "client"]


class SyncProgressed(Event):
    """A running sync fetched another page."""

    subject_template = "evt.sync.progress"

    connector_id: int
    sync_run_id: int
    fetched: int = Field(ge=0)
    total: int | None = Field(default=None, ge=0)


class SyncCompleted(Event):
    """A connector's library mirror is up to date (or the sync failed)."""

    subject_template = "evt.sync.completed"

    connector_id: int
    sync_run_id: int
    schedule_id: int | None = Field(
        default=None, description="The schedule the sweep ran for; None for a manual sweep."
    )
    sync_mode: SyncMode
    sweep_type: SweepType
    outcome: Literal["success", "failed", "skipped"]
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    error: str | None = None


class DiscoveryCompleted(Event):
    """Gaps and upgrade candidates were recomputed for a connector."""

    subject_template = "evt.discovery.completed"

    connector_id: int
    gaps_found: int = Field(default=0, ge=0)
    upgrades_found: int = Field(default=0, ge=0)
    entries_created: int = Field(default=0, ge=0)
    entries_removed: int = Field(default=0, ge=0)
    gaps_new: int = Field(default=0, ge=0, description="New gap entries.")
    gaps_removed: int = Field(default=0, ge=0, description="Gap entries whose item got a file.")
    upgrades_new: int = Field(default=0, ge=0, description="New upgrade entries.")
    upgrades_removed: int = Field(
        default=0, ge=0, description="Upgrade entries whose item met its cutoff."
    )
    type_changed: int = Field(
        default=0, ge=0, description="Entries that moved between gap, upgrade and format."
    )
    formats_found: int = Field(
        default=0,
        ge=0,
        description="Files whose quality meets the cutoff but whose custom-format score is"
        " below their profile's cutoff score (format-score upgrades).",
    )
    formats_new: int = Field(default=0, ge=0, description="New format-score upgrade entries.")
    formats_removed: int = Field(
        default=0, ge=0, description="Format-score entries whose file reached the cutoff score."
    )


class SweepCompleted(Event):
    """A sweep (sync, then discovery) finished: its summary, with the sweep's correlation id."""

    subject_template = "evt.sweep.completed"

    connector_id: int
    schedule_id: int | None = Field(default=None, description="None for a manual sweep.")
    sync_outcome: Literal["success", "failed", "skipped"]
    items_synced: int = Field(default=0, ge=0, description="Records the sync fetched.")
    gaps_found: int = Field(default=0, ge=0)
    upgrades_found: int = Field(default=0, ge=0)
    gaps_new: int = Field(default=0, ge=0)
    upgrades_new: int = Field(default=0, ge=0)
    items_queued: int = Field(default=0, ge=0, description="New entries for the dispatcher.")
    error: str | None = None


class ItemsQueued(Event):
    """New search registry entries wait for the dispatcher."""

    subject_template = "evt.items.queued"

    connector_id: int
    count: int = Field(ge=0)


class SearchDispatched(Event):
    """A search command was sent to an *arr app."""

    subject_template = "evt.search.dispatched"

    connector_id: int
    command_id: int
    command_name: CommandName
    registry_ids: list[int]


class SearchCompleted(Event):
    """An *arr search command finished."""

    subject_template = "evt.search.completed"

    connector_id: int
    command_id: int
    registry_ids: list[int]
    found: int = Field(default=0, ge=0)
    command_name: CommandName | None = Field(default=None, description="None from older senders.")


class SearchFound(Event):
    """Searched items got a release grabbed: judged from the app's history after the command,
    or told at once by the app's own webhook. Each entry is announced once per search."""

    subject_template = "evt.search.found"

    connector_id: int
    registry_ids: list[int]
    source: Literal["history", "webhook"] = "history"


class SearchFailed(Event):
    """An *arr search command failed; the items go to cooldown."""

    subject_template = "evt.search.failed"

    connector_id: int
    registry_ids: list[int]
    error: str
    command_name: CommandName | None = Field(default=None, description="None from older senders.")


class SearchExhausted(Event):
    """Items reached their maximum attempts and will not be searched again on their own."""

    subject_template = "evt.search.exhausted"

    connector_id: int
    registry_ids: list[int]


class RequestStats(BaseModel):
    """A process's requests to one connector's app of one kind within one UTC hour."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    hour: datetime = Field(description="Start of the UTC hour the requests were sent in.")
    connector_id: int
    kind: EndpointKind
    requests: int = Field(ge=0, description="Requests sent, failed ones included.")
    errors: dict[ErrorCategory, int] = Field(
        default_factory=dict, description="Failed requests by category."
    )
    latency: dict[int, int] = Field(
        default_factory=dict,
        description="Response times as counts per bin: bin i holds times from 2^(i/4) ms"
        " up to 2^((i+1)/4) ms (bin 0 from 0); see comradarr_proto.latency.",
    )


class ArrRequestsMeasured(Event):
    """What one process's requests to the *arr apps took, summed over a short interval.

    Each process that calls the apps (sync, dispatcher, scheduler) counts its requests in
    memory and publishes one of these per interval instead of an event per request.
    """

    subject_template = "evt.arr.requests"

    source: str = Field(description="The process that measured (host and process id).")
    stats: list[RequestStats]


class ConnectorHealthChanged(Event):
    """A connector's health moved between healthy, degraded, unhealthy and offline."""

    subject_template = "evt.connector.health"

    connector_id: int
    previous: HealthStatus | None
    current: HealthStatus
    messages: list[str] = Field(default_factory=list)


class RateLimited(Event):
    """An *arr app (or a proxy before it) answered 429; the connector pauses."""

    subject_template = "evt.connector.ratelimited"

    connector_id: int
    retry_after_seconds: float = Field(ge=0)
    paused_until: datetime


class DailyBudgetSpent(Event):
    """A connector used its whole request budget; its searches wait for the next reset."""

    subject_template = "evt.connector.budget"

    connector_id: int
    budget: int = Field(ge=0, description="Requests allowed per budget window.")
    resets_at: datetime


IndexerState = Literal["healthy", "rate_limited", "failing", "disabled"]


class IndexerRateLimited(Event):
    """A Prowlarr indexer is disabled until a time (rate limited or backing off after
    failures). Informational: searches go on; Prowlarr skips the indexer meanwhile."""

    subject_template = "evt.indexer.ratelimited"

    connector_id: int = Field(description="The Prowlarr connector.")
    indexer_id: int = Field(description="Prowlarr's id of the indexer.")
    name: str
    until: datetime | None = Field(description="Prowlarr's disabledTill.")
    message: str | None = None


class IndexerFailing(Event):
    """A Prowlarr indexer failed recently (or carries an error message) and is not
    disabled for it. Informational, like every indexer event."""

    subject_template = "evt.indexer.failing"

    connector_id: int
    indexer_id: int
    name: str
    message: str | None = None


class IndexerRecovered(Event):
    """A Prowlarr indexer that was rate limited or failing is healthy again."""

    subject_template = "evt.indexer.recovered"

    connector_id: int
    indexer_id: int
    name: str
    previous: IndexerState
    unhealthy_since: datetime | None = Field(
        default=None, description="When it turned rate limited or failing."
    )


class SettingsChanged(Event):
    """A setting changed in the gateway; services re-read what they cache."""

    subject_template = "evt.settings.changed"

    keys: list[str]


class LogLevelChanged(Event):
    """Change the log level of every running service (or of one) without a restart."""

    subject_template = "evt.log.level"

    level: Literal["trace", "debug", "info", "warning", "error"]
    service: str | None = Field(default=None, description="None means every service.")


class MessageDeadLettered(Event):
    """A message failed on every allowed delivery and was set aside."""

    subject_template = "evt.deadletter"

    consumer: str
    failed_subject: str
    failed_message_id: str | None
    deliveries: int
    error: str


ArrWebhookEvent = Literal["grab", "download", "health", "health_restored", "test", "other"]


class ArrWebhookReceived(Event):
    """An *arr app called its webhook at the gateway (authenticated by the connector's token).

    The message id is derived from the connector and the raw body, so a replayed call is the
    same message: JetStream drops it within its window, consumers' exactly-once after it.
    """

    subject_template = "evt.webhook.arr"

    connector_id: int
    event_type: ArrWebhookEvent
    raw_event_type: str = Field(max_length=64, description="eventType as the app sent it.")
    series_arr_id: int | None = None
    episode_arr_ids: list[int] = Field(default_factory=list, max_length=1000)
    movie_arr_id: int | None = None
    release_title: str | None = Field(default=None, max_length=500)
    download_id: str | None = Field(default=None, max_length=200)
    is_upgrade: bool = False
    health_level: str | None = Field(default=None, max_length=32)
    health_message: str | None = Field(default=None, max_length=2000)
    health_type: str | None = Field(default=None, max_length=200)


class MaintenanceStepCompleted(Event):
    """A service finished its part of a maintenance run: rows removed per table."""

    subject_template = "evt.maintenance.step"

    run_id: int = Field(ge=1)
    service: str = Field(max_length=32)
    removed: dict[str, int] = Field(default_factory=dict)
    seconds: float = Field(ge=0)
    error: str | None = Field(default=None, max_length=2000)


class MaintenanceCompleted(Event):
    """A maintenance run ended (every service reported, or the wait ran out)."""

    subject_template = "evt.maintenance.completed"

    run_id: int = Field(ge=1)
    status: Literal["completed", "partial"]
    removed: int = Field(ge=0, description="Rows removed by every service together.")
    seconds: float = Field(ge=0)
    missing: list[str] = Field(default_factory=list, description="Services that never reported.")


class SecretKeyRotated(Event):
    """SECRET_KEY rotation moved on: running services re-read secret_key_handoffs (the new
    key travels there, encrypted under the old one; never on the bus)."""

    subject_template = "evt.secrets.rotated"

    key_id: str = Field(pattern=r"^[0-9a-f]{16}$", description="The new key's fingerprint.")
    state: Literal["prepared", "active", "aborted"]


BackupTrigger = Literal["manual", "scheduled", "api", "cli"]


class BackupCompleted(Event):
    """A backup file was written (by hand, by the API, or by the backup schedule)."""

    subject_template = "evt.backup.completed"

    backup_id: str = Field(max_length=80)
    trigger: BackupTrigger
    size_bytes: int = Field(ge=0)
    rows: int = Field(ge=0)
    includes_mirror: bool
    seconds: float = Field(ge=0)
    pruned: list[str] = Field(
        default_factory=list, max_length=1000, description="Older backups removed to keep N."
    )


class BackupFailed(Event):
    """A backup could not be made; the error says why."""

    subject_template = "evt.backup.failed"

    trigger: BackupTrigger
    error: str = Field(max_length=2000)


class BackupRestored(Event):
    """The database was replaced by a backup's rows; running services drop what they cache."""

    subject_template = "evt.backup.restored"

    backup_created_at: datetime
    rows: int = Field(ge=0)
    migrations_applied: list[str] = Field(default_factory=list, max_length=10_000)
    safety_backup_id: str | None = Field(default=None, max_length=80)
