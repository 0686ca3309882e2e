"""The message bus: NATS JetStream streams, typed publish, durable exactly-once consumers."""

from ._bus import Bus, Delivery, Handler, Subscription
from ._connection import DUPLICATE_WINDOW_SECONDS, connect, delete_streams, ensure_streams

__all__ = [
    "DUPLICATE_WINDOW_SECONDS",
    "Bus",
    "Delivery",
    "Handler",
    "Subscription",
    "connect",
    "delete_streams",
    "ensure_streams",
]
