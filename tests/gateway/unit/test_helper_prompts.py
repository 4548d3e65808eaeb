"""What the helper features ask a model and how its answers are read."""

from __future__ import annotations

from roleplay_gateway.characters.schemas import CharacterCreate
from roleplay_gateway.domain.helper_prompts import (
    SUGGESTIBLE_FIELDS,
    SceneContext,
    enhance_messages,
    read_enhanced,
    read_suggestions,
    suggestion_schema,
)


def test_only_existing_card_fields_can_be_suggested() -> None:
    assert set(SUGGESTIBLE_FIELDS) <= set(CharacterCreate.model_fields)


def test_an_enhanced_prompt_loses_labels_and_quotes_and_never_comes_back_empty() -> None:
    assert read_enhanced('Enhanced prompt: "a red door at dusk"', "x") == "a red door at dusk"
    assert read_enhanced("**Prompt:** misty pier", "x") == "misty pier"
    assert read_enhanced("   ", "the original") == "the original"


def test_the_enhancement_request_carries_the_conversation() -> None:
    context = SceneContext("Mira", ["red coat"], [("user", "We sail at dawn.")])
    system, user = enhance_messages("a ship", instructions=None, context=context)
    assert system["role"] == "system" and user["role"] == "user"
    assert "Mira" in user["content"] and "red coat" in user["content"]
    assert "We sail at dawn." in user["content"] and user["content"].endswith("a ship")
    assert enhance_messages("a", instructions="T", context=None)[0]["content"] == "T"


def test_suggestions_are_read_leniently_in_each_fields_shape() -> None:
    fields = ["persona", "appearance_tags", "scenario"]
    answer = (
        'Sure!\n```json\n{"persona": " calm ", "appearance_tags": "red hair, tall", "x": 1}\n```'
    )
    assert read_suggestions(answer, fields) == {
        "persona": "calm",
        "appearance_tags": ["red hair", "tall"],
    }
    assert read_suggestions("no json here", fields) == {}
    assert read_suggestions('{"persona": ', fields) == {}


def test_the_schema_asks_for_exactly_the_fields() -> None:
    schema = suggestion_schema(["persona", "tags"])
    assert schema["required"] == ["persona", "tags"]
    assert schema["properties"]["tags"]["type"] == "array"
    assert schema["additionalProperties"] is False
