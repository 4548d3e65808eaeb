"""Envelopes a consumer gave up on, with the reason, on `dlq.<service>`."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

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
    error_type: str = Field(default="", description="The exception's class name.")
    source_partition: int | None = None
    source_offset: int | None = None

    def partition_key(self) -> str:
        return str(self.original.get("key") or self.original.get("id") or "")


class DeadLetterRedriven(Event):
    """A claim on (or the release of) a dead letter's redrive, on `ops.dlq.redrives`.

    The first claim of a dead letter on its partition wins; a release (the republish failed)
    makes it claimable again. So a dead letter is redriven at most once."""

    event_type: ClassVar[str] = "system.dead_letter.redriven"
    topic: ClassVar[str] = "ops.dlq.redrives"

    dead_letter_id: str
    claim_id: str
    by: str
    released: bool = False

    def partition_key(self) -> str:
        return self.dead_letter_id
