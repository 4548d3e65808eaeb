"""The one envelope every event travels in, and the base class of event payloads.

An event payload is a pydantic model that subclasses `Event` and names its `event_type`,
`event_version` and `topic`. Subclassing registers it, so `EventEnvelope.payload()` can turn
any envelope read off Kafka back into its typed payload. A payload change that is not backward
compatible gets a new class with a higher `event_version`; `register_upcaster` turns old
envelopes into the new shape on read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from roleplay_common.trace_context import current_traceparent


class Event(BaseModel):
    """Base of event payloads. Facts are named in the past tense, commands imperatively."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    topic: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            _REGISTRY[(cls.event_type, cls.event_version)] = cls

    def partition_key(self) -> str:
        """The entity whose events must stay in order; override per event."""
        raise NotImplementedError


_REGISTRY: dict[tuple[str, int], type[Event]] = {}
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


def register_upcaster(
    event_type: str, from_version: int
) -> Callable[
    [Callable[[dict[str, Any]], dict[str, Any]]], Callable[[dict[str, Any]], dict[str, Any]]
]:
    """Register a function turning `data` of `from_version` into `from_version + 1`."""

    def decorate(
        fn: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        _UPCASTERS[(event_type, from_version)] = fn
        return fn

    return decorate


def event_class(event_type: str, version: int) -> type[Event] | None:
    return _REGISTRY.get((event_type, version))


def registered_events() -> list[type[Event]]:
    return sorted(_REGISTRY.values(), key=lambda c: (c.event_type, c.event_version))


class UnknownEventError(ValueError):
    """The envelope names a type and version no registered payload (or upcaster) knows."""


class EventEnvelope(BaseModel):
    """Self-contained: an envelope carries everything needed to process or replay it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: UUID = Field(default_factory=uuid4, description="Unique; the dedupe key.")
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    key: str = Field(description="Partition key: the entity whose order matters.")
    correlation_id: str
    causation_id: UUID | None = None
    traceparent: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        payload: Event,
        *,
        producer: str,
        correlation_id: str | None = None,
        causation: EventEnvelope | None = None,
        traceparent: str | None = None,
        id: UUID | None = None,
    ) -> Self:
        """Envelope a payload; `causation` links it to the event that caused it. The trace
        context is the one given, else the current span's, else the cause's."""
        return cls(
            id=id or uuid4(),
            type=payload.event_type,
            version=payload.event_version,
            producer=producer,
            key=payload.partition_key(),
            correlation_id=correlation_id
            or (causation.correlation_id if causation else str(uuid4())),
            causation_id=causation.id if causation else None,
            traceparent=traceparent
            or current_traceparent()
            or (causation.traceparent if causation else None),
            data=payload.model_dump(mode="json"),
        )

    def payload(self) -> Event:
        """The typed payload, upcast to the newest registered version."""
        data, version = dict(self.data), self.version
        while (upcast := _UPCASTERS.get((self.type, version))) is not None and (
            (self.type, version) not in _REGISTRY or (self.type, version + 1) in _REGISTRY
        ):
            data, version = upcast(data), version + 1
        cls = _REGISTRY.get((self.type, version))
        if cls is None:
            raise UnknownEventError(f"no event model for {self.type} v{version}")
        return cls.model_validate(data)
