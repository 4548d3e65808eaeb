"""Event envelope and payload models shared by all services (no business rules)."""

from roleplay_common.events.dead_letter import EventDeadLettered
from roleplay_common.events.diagnostics import Ping, Pong
from roleplay_common.events.envelope import (
    Event,
    EventEnvelope,
    UnknownEventError,
    event_class,
    register_upcaster,
    registered_events,
)

__all__ = [
    "Event",
    "EventDeadLettered",
    "EventEnvelope",
    "Ping",
    "Pong",
    "UnknownEventError",
    "event_class",
    "register_upcaster",
    "registered_events",
]
