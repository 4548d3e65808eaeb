"""What chat tells a waiting client when it dead-letters a turn command: `turn.failed`
(`dead_lettered`), so the stream ends instead of waiting forever."""

from __future__ import annotations

from pydantic import ValidationError

from roleplay_common.dead_letter_outcomes import DEAD_LETTERED_CODE, failure_message, picked
from roleplay_common.events import ChatTurnFailed, EventEnvelope, TurnError


def turn_failed(envelope: EventEnvelope, error: str) -> ChatTurnFailed | None:
    try:
        return ChatTurnFailed.model_validate(
            {
                **picked(envelope.data, "turn_id", "conversation_id", "user_id"),
                "error": TurnError(code=DEAD_LETTERED_CODE, message=failure_message(error)),
            }
        )
    except ValidationError:
        return None
