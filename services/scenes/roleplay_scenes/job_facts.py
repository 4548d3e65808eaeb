"""The facts a job publishes, by its purpose.

A conversation's scene announces `scenes.job.progress|completed|failed` (keyed by the
conversation; chat links the scene to its message, the gateway's feed shows it, the library
keeps it). A character's portrait announces `scenes.portrait.progress|completed|failed` (keyed
by the character; the gateway makes the image the portrait). Both travel on
`scenes.job.events`, whose consumers pass over the types they do not handle unread.
"""

from __future__ import annotations

import uuid
from typing import Literal

from roleplay_common.events import (
    Event,
    ModelRoute,
    PortraitJobCompleted,
    PortraitJobFailed,
    PortraitJobProgressed,
    RequestSceneJob,
    SceneJobCompleted,
    SceneJobFailed,
    SceneJobProgressed,
    StoredImage,
)
from roleplay_scenes.store import SceneJob


def progressed(
    command: RequestSceneJob,
    status: Literal["queued", "processing"],
    progress: float,
    stage: str,
) -> Event:
    if command.purpose == "portrait":
        return PortraitJobProgressed(
            **_portrait_ids(command), status=status, progress=progress, stage=stage
        )
    assert command.conversation_id is not None
    return SceneJobProgressed(
        job_id=command.job_id,
        scene_id=command.scene_id,
        conversation_id=command.conversation_id,
        user_id=command.user_id,
        status=status,
        progress=progress,
        stage=stage,
    )


def completed(
    command: RequestSceneJob,
    image: StoredImage,
    prompt: str,
    mode: str,
    previous: uuid.UUID | None,
    route: ModelRoute,
) -> Event:
    if command.purpose == "portrait":
        return PortraitJobCompleted(
            **_portrait_ids(command), image=image, prompt=prompt, model=route.model_key
        )
    assert command.conversation_id is not None
    return SceneJobCompleted(
        job_id=command.job_id,
        scene_id=command.scene_id,
        conversation_id=command.conversation_id,
        user_id=command.user_id,
        image=image,
        prompt=prompt,
        generation_mode=mode,
        previous_scene_id=previous,
        message_id=command.message_id,
        character_id=command.character.id,
        model=route.model_key,
    )


def failed(
    job: SceneJob, character_id: uuid.UUID, code: str, message: str, *, cancelled: bool
) -> Event:
    if job.purpose == "portrait" or job.conversation_id is None:
        return PortraitJobFailed(
            job_id=job.id,
            image_id=job.scene_id,
            character_id=character_id,
            user_id=job.user_id,
            code=code,
            message=message,
            cancelled=cancelled,
        )
    return SceneJobFailed(
        job_id=job.id,
        scene_id=job.scene_id,
        conversation_id=job.conversation_id,
        user_id=job.user_id,
        code=code,
        message=message,
        cancelled=cancelled,
    )


def _portrait_ids(command: RequestSceneJob) -> dict[str, uuid.UUID]:
    return {
        "job_id": command.job_id,
        "image_id": command.scene_id,
        "character_id": command.character.id,
        "user_id": command.user_id,
    }
