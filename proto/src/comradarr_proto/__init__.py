"""Message contracts of Comradarr: every command and event on NATS JetStream, defined once."""

from ._base import Command, Event, Message
from .commands import ControlQueue, RequestSweep, SweepType, SyncMode
from .events import (
    ConnectorHealthChanged,
    DiscoveryCompleted,
    HealthStatus,
    ItemsQueued,
    LogLevelChanged,
    MessageDeadLettered,
    RateLimited,
    SearchCompleted,
    SearchDispatched,
    SearchExhausted,
    SearchFailed,
    SettingsChanged,
    SyncCompleted,
    SyncProgressed,
)
from .streams import COMMANDS_STREAM, EVENTS_STREAM, StreamSpec, stream_name

ALL_MESSAGES: tuple[type[Message], ...] = (
    RequestSweep,
    ControlQueue,
    SyncProgressed,
    SyncCompleted,
    DiscoveryCompleted,
    ItemsQueued,
    SearchDispatched,
    SearchCompleted,
    SearchFailed,
    SearchExhausted,
    ConnectorHealthChanged,
    RateLimited,
    SettingsChanged,
    LogLevelChanged,
    MessageDeadLettered,
)

__all__ = [
    "ALL_MESSAGES",
    "COMMANDS_STREAM",
    "EVENTS_STREAM",
    "Command",
    "ConnectorHealthChanged",
    "ControlQueue",
    "DiscoveryCompleted",
    "Event",
    "HealthStatus",
    "ItemsQueued",
    "LogLevelChanged",
    "Message",
    "MessageDeadLettered",
    "RateLimited",
    "RequestSweep",
    "SearchCompleted",
    "SearchDispatched",
    "SearchExhausted",
    "SearchFailed",
    "SettingsChanged",
    "StreamSpec",
    "SweepType",
    "SyncCompleted",
    "SyncMode",
    "SyncProgressed",
    "stream_name",
]
