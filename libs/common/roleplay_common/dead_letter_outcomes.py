"""What a dead letter tells the client who waits on it, and the headers that say why.

When a consumer dead-letters a command a person is waiting on (a chat turn, a scene job), its
service also publishes the command's failure fact (`chat.turn.failed`, `scenes.job.failed`),
so the client's stream ends instead of waiting forever. The fact's event id derives from the
command's, so dead-lettering the same command twice publishes one fact.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from roleplay_common.events import (
    ChatTurnFailed,
    Event,
    EventDeadLettered,
    EventEnvelope,
    RequestChatTurn,
    RequestSceneJob,
    SceneJobFailed,
    TurnError,
)

DEAD_LETTERED_CODE = "dead_lettered"
_FAILURE_NAMESPACE = uuid.UUID("5b0c1b8e-4b4e-4d0c-9d8e-2f1f6f3e8a01")


def client_failure(envelope: EventEnvelope, error: str) -> Event | None:
    """The failure fact for a dead-lettered command, or None when nobody waits on it (or its
    ids cannot be read)."""
    data: dict[str, Any] = envelope.data
    message = f"the request could not be processed: {error}"[:1000]
    try:
        if envelope.type == RequestChatTurn.event_type:
            return ChatTurnFailed.model_validate(
                {
                    **_pick(data, "turn_id", "conversation_id", "user_id"),
                    "error": TurnError(code=DEAD_LETTERED_CODE, message=message),
                }
            )
        if envelope.type == RequestSceneJob.event_type:
            return SceneJobFailed.model_validate(
                {
                    **_pick(data, "job_id", "scene_id", "conversation_id", "user_id"),
                    "code": DEAD_LETTERED_CODE,
                    "message": message,
                }
            )
    except ValidationError:
        return None
    return None


def failure_event_id(envelope: EventEnvelope) -> uuid.UUID:
    return uuid.uuid5(_FAILURE_NAMESPACE, str(envelope.id))


def _pick(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: data.get(n) for n in names}


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
