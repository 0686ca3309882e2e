"""What every message on the bus carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


class Message(BaseModel):
    """Base of every command and event: versioned, correlated, de-duplicable."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # The subject under the bus prefix, e.g. "evt.search.completed"; {field} placeholders
    # are filled from the message (commands are routed per connector).
    subject_template: ClassVar[str]
    kind: ClassVar[str]  # "command" or "event"

    schema_version: int = 1
    message_id: str = Field(
        default_factory=_new_id,
        description="JetStream de-duplication id: a replay with the same id is dropped.",
    )
    correlation_id: str = Field(
        default_factory=_new_id, description="Follows one piece of work across services."
    )
    occurred_at: datetime = Field(default_factory=_now)

    def subject(self, prefix: str) -> str:
        """The full subject this message is published on."""
        return f"{prefix}.{self.subject_template.format(**self.__dict__)}"

    @classmethod
    def subject_filter(cls, prefix: str) -> str:
        """A subject filter matching every message of this type."""
        parts = ["*" if part.startswith("{") else part for part in cls.subject_template.split(".")]
        return f"{prefix}.{'.'.join(parts)}"


class Command(Message):
    """Asks one service to do something; handled once by one replica."""

    kind: ClassVar[str] = "command"


class Event(Message):
    """States that something happened; every interested service gets its own copy."""

    kind: ClassVar[str] = "event"
