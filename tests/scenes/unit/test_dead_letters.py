"""A dead-lettered job command still ends its client's wait, with the fact of its kind."""

from __future__ import annotations

import uuid

from roleplay_common.dead_letter_outcomes import DEAD_LETTERED_CODE
from roleplay_common.events import EventEnvelope, PortraitJobFailed, SceneJobFailed
from roleplay_scenes.dead_letters import job_failed


def command(**data: object) -> EventEnvelope:
    return EventEnvelope(
        type="scenes.job.requested", producer="tests", key="k", correlation_id="c", data=data
    )


def test_a_scene_job_fails_as_a_scene_and_a_portrait_as_a_portrait() -> None:
    ids = {k: str(uuid.uuid4()) for k in ("job_id", "scene_id", "conversation_id", "user_id")}
    scene = job_failed(command(**ids), "ValueError: broken")
    assert isinstance(scene, SceneJobFailed)
    assert scene.code == DEAD_LETTERED_CODE and "broken" in scene.message

    character = str(uuid.uuid4())
    portrait = job_failed(
        command(**ids, purpose="portrait", character={"id": character}), "ValueError: broken"
    )
    assert isinstance(portrait, PortraitJobFailed)
    assert str(portrait.character_id) == character
    assert str(portrait.image_id) == ids["scene_id"]


def test_a_command_without_its_ids_gets_no_fact() -> None:
    assert job_failed(command(job_id="not-a-uuid"), "error") is None
