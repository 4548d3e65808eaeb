"""The scene prompt: the scene, the character's look, the camera, the setting, the change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from roleplay_common.events import CharacterCard, Modification, RequestSceneJob, SceneTemplateCard
from roleplay_scenes.domain.scene_prompt import compose, narrative_request, strength


def command(**overrides: object) -> RequestSceneJob:
    values: dict[str, object] = {
        "job_id": uuid.uuid4(),
        "scene_id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "conversation_id": uuid.uuid4(),
        "mode": "t2i",
        "character": CharacterCard(id=uuid.uuid4(), name="Mira", appearance_tags=["auburn braid"]),
        "persona": CharacterCard(
            id=uuid.uuid4(), role="user", name="Ash", appearance_tags=["satchel"]
        ),
        "template": SceneTemplateCard(id=uuid.uuid4(), name="deck", scene_prompt="airship deck"),
        "routes": [],
        "recent_messages": [{"sender": "user", "content": "Look, lightning!"}],
        "requested_at": datetime.now(UTC),
    }
    values.update(overrides)
    return RequestSceneJob.model_validate(values)


def test_the_prompt_combines_scene_look_camera_and_setting() -> None:
    prompt = compose(command(style="both_characters"), "Mira grips the wheel.")
    assert prompt.startswith("Mira grips the wheel")
    assert "Mira: auburn braid" in prompt and "Ash: satchel" in prompt
    assert "both characters" in prompt and "setting: airship deck" in prompt
    assert "safe for work" in prompt


def test_a_modification_keeps_the_scene_and_scales_with_intensity() -> None:
    mild = command(mode="modification", modification=Modification(preset="weather", intensity=0.1))
    wild = command(
        mode="modification", modification=Modification(instruction="make it snow", intensity=1)
    )
    assert "subtly change the weather" in compose(mild, "x")
    assert "strongly make it snow" in compose(wild, "x")
    assert strength(mild) < strength(wild)


def test_the_narrative_is_written_from_the_recent_conversation() -> None:
    messages = narrative_request(command())
    assert "Mira" in messages[0]["content"]
    assert messages[1]["content"] == "Ash: Look, lightning!"
