"""What a dead letter tells the client who waits on it, and the headers that say why.

When a consumer dead-letters a command a person is waiting on (a chat turn, a scene job), the
service that owns the command also publishes its failure fact (`chat.turn.failed`,
`scenes.job.failed`), so the client's stream ends instead of waiting forever. Which fact a
command gets is the owning service's rule, registered with `EventRouter.fails_with` (or given
to a batch consumer); this module holds what every rule shares. The fact's event id derives
from the command's, so dead-lettering the same command twice publishes one fact.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from roleplay_common.events import Event, EventDeadLettered, EventEnvelope

DEAD_LETTERED_CODE = "dead_lettered"
_FAILURE_NAMESPACE = uuid.UUID("5b0c1b8e-4b4e-4d0c-9d8e-2f1f6f3e8a01")

FailureFact = Callable[[EventEnvelope, str], Event | None]
"""A service's rule: the failure fact for a dead-lettered command and the error that ended
it, or None when nobody waits on it (or its ids cannot be read)."""


def failure_message(error: str) -> str:
    return f"the request could not be processed: {error}"[:1000]


def picked(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """The named fields of a command's data (missing ones as None, for validation to refuse)."""
    return {n: data.get(n) for n in names}


def failure_event_id(envelope: EventEnvelope) -> uuid.UUID:
    return uuid.uuid5(_FAILURE_NAMESPACE, str(envelope.id))


def dead_letter_headers(record: EventDeadLettered) -> dict[str, str]:
    """Kafka headers of a dead letter: why, and where the original was read."""
    headers = {
        "dlq-service": record.service,
        "dlq-consumer": record.consumer,
        "dlq-error-type": record.error_type,
        "dlq-error-message": record.error[:1000],
        "dlq-source-topic": record.source_topic,
        "dlq-tries": str(record.attempts),
        "dlq-original-id": str(record.original.get("id", "")),
        "dlq-original-type": str(record.original.get("type", "")),
    }
    if record.source_partition is not None:
        headers["dlq-source-partition"] = str(record.source_partition)
    if record.source_offset is not None:
        headers["dlq-source-offset"] = str(record.source_offset)
    return headers
