"""What scenes tells a waiting client when it dead-letters a job command: `scenes.job.failed`
(`dead_lettered`) for a scene, `scenes.portrait.failed` for a character's portrait."""

from __future__ import annotations

from pydantic import ValidationError

from roleplay_common.dead_letter_outcomes import DEAD_LETTERED_CODE, failure_message, picked
from roleplay_common.events import Event, EventEnvelope, PortraitJobFailed, SceneJobFailed


def job_failed(envelope: EventEnvelope, error: str) -> Event | None:
    data = envelope.data
    why = {"code": DEAD_LETTERED_CODE, "message": failure_message(error)}
    try:
        if data.get("purpose") == "portrait":
            character = data.get("character")
            return PortraitJobFailed.model_validate(
                {
                    **picked(data, "job_id", "user_id"),
                    "image_id": data.get("scene_id"),
                    "character_id": character.get("id") if isinstance(character, dict) else None,
                    **why,
                }
            )
        return SceneJobFailed.model_validate(
            {**picked(data, "job_id", "scene_id", "conversation_id", "user_id"), **why}
        )
    except ValidationError:
        return None
