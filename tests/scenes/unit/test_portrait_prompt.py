"""The portrait prompt: from the card's appearance and description, or the person's own; and
a portrait job needs no conversation while a scene job does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from roleplay_common.events import CharacterCard, RequestSceneJob
from roleplay_scenes.domain.portrait_prompt import description_excerpt, portrait_prompt


def portrait(**overrides: object) -> RequestSceneJob:
    values: dict[str, object] = {
        "job_id": uuid.uuid4(),
        "scene_id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "purpose": "portrait",
        "mode": "t2i",
        "character": CharacterCard(
            id=uuid.uuid4(),
            name="Mira",
            appearance_tags=["auburn braid", " ", "brass goggles"],
            description="{{char}} captains the airship. She teases <USER> often. {{random:a,b}}",
        ),
        "routes": [],
        "requested_at": datetime.now(UTC),
    }
    values.update(overrides)
    return RequestSceneJob.model_validate(values)


def test_the_default_prompt_is_written_from_the_card() -> None:
    prompt = portrait_prompt(portrait())
    assert prompt.startswith("character portrait")
    assert "of Mira" in prompt and "auburn braid, brass goggles" in prompt
    assert "Mira captains the airship" in prompt and "the viewer" in prompt
    assert "{{" not in prompt and "<USER>" not in prompt
    assert prompt.endswith("safe for work")


def test_a_given_prompt_stands_with_the_characters_look() -> None:
    prompt = portrait_prompt(portrait(prompt="Mira in a ballgown.", content_mode="nsfw"))
    assert prompt == "Mira in a ballgown, Mira: auburn braid, brass goggles"


def test_a_long_description_is_cut_at_a_sentence_or_a_word() -> None:
    sentences = "She flies. " * 60
    assert description_excerpt(sentences, "Mira").endswith("She flies")
    words = "word " * 200
    cut = description_excerpt(words, "Mira", limit=50)
    assert len(cut) <= 50 and cut.endswith("word")


def test_a_scene_needs_a_conversation_and_a_portrait_is_keyed_by_its_character() -> None:
    job = portrait()
    assert job.conversation_id is None and job.partition_key() == str(job.character.id)
    with pytest.raises(ValidationError):
        portrait(purpose="scene")
