"""Envelopes a consumer gave up on, with the reason, on `dlq.<service>`."""

from __future__ import annotations

from typing import Any, ClassVar

from roleplay_common.events.envelope import Event


class EventDeadLettered(Event):
    event_type: ClassVar[str] = "system.dead_lettered"
    topic: ClassVar[str] = "dlq"

    service: str
    consumer: str
    source_topic: str
    error: str
    attempts: int
    original: dict[str, Any]

    def partition_key(self) -> str:
        return str(self.original.get("key") or self.original.get("id") or "")
