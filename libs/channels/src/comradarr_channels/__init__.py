"""Notification channels: kinds and their forms, Apprise URLs, the stored rows, sending."""

from .events import ALL, BY_KEY, EVENT_KINDS, EventKind, event_kind, normalise_events, wants
from .kinds import (
    KINDS,
    FormField,
    KindSpec,
    build_url,
    mask,
    mask_url,
    masked_fields,
    merge_fields,
)
from .quiet import QuietHours
from .repository import (
    SECRET_COLUMN,
    Channel,
    ChannelNotFoundError,
    ChannelSecret,
    create_channel,
    delete_channel,
    get_channel,
    get_secret,
    list_channels,
    record_test,
    update_channel,
)
from .send import SendResult, scrub, secrets_of, send, validate_url

__all__ = [
    "ALL",
    "BY_KEY",
    "EVENT_KINDS",
    "KINDS",
    "SECRET_COLUMN",
    "Channel",
    "ChannelNotFoundError",
    "ChannelSecret",
    "EventKind",
    "FormField",
    "KindSpec",
    "QuietHours",
    "SendResult",
    "build_url",
    "create_channel",
    "delete_channel",
    "event_kind",
    "get_channel",
    "get_secret",
    "list_channels",
    "mask",
    "mask_url",
    "masked_fields",
    "merge_fields",
    "normalise_events",
    "record_test",
    "scrub",
    "secrets_of",
    "send",
    "update_channel",
    "validate_url",
    "wants",
]
