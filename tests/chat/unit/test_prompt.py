"""Prompt assembly: placeholders, sections, and the newest history within the budget."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from roleplay_chat.domain.prompt import (
    KICKOFF_INSTRUCTION,
    ChatPrompt,
    HistoryMessage,
    Memory,
    fill,
    plan_prompt,
    system_prompt,
)
from roleplay_chat.domain.prompt import assemble as assemble_plan
from roleplay_chat.domain.prompt_blocks import TRUNCATION_MARKER
from roleplay_chat.domain.tokens import count_message
from roleplay_common.events import (
    CharacterCard,
    GenerationSettings,
    ModelRoute,
    PromptTemplate,
    RequestChatTurn,
)


def command(**overrides: object) -> RequestChatTurn:
    values: dict[str, object] = {
        "turn_id": uuid.uuid4(),
        "conversation_id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "kind": "send",
        "content": "hello",
        "character": CharacterCard(
            id=uuid.uuid4(),
            name="Mira",
            description="a ship's navigator",
            persona="curious and dry-witted",
            scenario="a storm at sea",
            example_dialogue="Mira: Hold the wheel!",
            scene_behavior_rules={"pacing": "slow burn"},
        ),
        "persona": CharacterCard(id=uuid.uuid4(), role="user", name="Ash", persona="a stowaway"),
        "template": PromptTemplate(
            name="t",
            system_prompt="You are {{character_name}} ({{character_personality}}) with "
            "{{user_name}}, {{user_persona}}. {{unknown_thing}}Scene: {{scenario}}",
        ),
        "routes": [ModelRoute(model_key="m", model_name="m", provider="p", base_url="http://x")],
        "requested_at": datetime.now(UTC),
    }
    values.update(overrides)
    return RequestChatTurn.model_validate(values)


def assemble(
    turn: RequestChatTurn,
    history: list[HistoryMessage],
    *,
    system: str,
    context_window: int,
    max_output_tokens: int,
) -> ChatPrompt:
    plan = replace(plan_prompt(turn, history), system=system, examples=[])
    return assemble_plan(plan, context_window=context_window, max_output_tokens=max_output_tokens)


def test_placeholders_are_filled_and_unknown_ones_vanish() -> None:
    text = system_prompt(command())
    assert "You are Mira (curious and dry-witted) with Ash, a stowaway." in text
    assert "Scene: a storm at sea" in text
    assert "{{" not in text
    assert fill("{{ user_name }}!", {"user_name": "Ash"}) == "Ash!"


def test_sections_for_rules_memory_and_rating() -> None:
    sfw = system_prompt(
        command(), memory=Memory(summary="They met at the docks.", facts=["Ash owes Mira"])
    )
    assert "SCENE BEHAVIOUR RULES" in sfw and "pacing: slow burn" in sfw
    assert "They met at the docks." in sfw and "- Ash owes Mira" in sfw
    assert "general audience" in sfw
    nsfw = system_prompt(command(content_mode="nsfw"))
    assert "consenting adults" in nsfw


def test_the_newest_history_is_kept_and_the_oldest_dropped() -> None:
    history = [
        HistoryMessage("user" if i % 2 else "assistant", f"message {i} " + "word " * 40)
        for i in range(40)
    ]
    system = "system prompt"
    budget_for_six = count_message(system) + sum(count_message(m.content) for m in history[-6:])
    prompt = assemble(
        command(),
        history,
        system=system,
        context_window=budget_for_six + 100,
        max_output_tokens=100,
    )
    contents = [m["content"] for m in prompt.messages[1:]]
    assert contents == [m.content for m in history[-6:]]
    assert prompt.dropped == 34
    assert prompt.messages[0] == {"role": "system", "content": system}


def test_the_current_user_message_appears_once() -> None:
    history = [HistoryMessage("assistant", "Welcome aboard."), HistoryMessage("user", "hello")]
    prompt = assemble(command(), history, system="s", context_window=4096, max_output_tokens=256)
    assert [m["content"] for m in prompt.messages].count("hello") == 1
    assert prompt.messages[-1] == {"role": "user", "content": "hello"}


def test_an_empty_conversation_gets_a_kickoff_and_continue_a_nudge() -> None:
    kickoff = assemble(
        command(kind="continue", content=None),
        [],
        system="s",
        context_window=4096,
        max_output_tokens=256,
    )
    assert kickoff.messages[-1]["content"] == KICKOFF_INSTRUCTION.format(user_name="Ash")
    history = [HistoryMessage("assistant", "The storm grows.")]
    cont = assemble(
        command(kind="continue", content=None),
        history,
        system="s",
        context_window=4096,
        max_output_tokens=256,
    )
    assert cont.messages[-1]["role"] == "user" and "Continue" in cont.messages[-1]["content"]
    assert cont.messages[-2]["content"] == "The storm grows."


def test_the_newest_message_over_budget_is_cut_with_a_visible_marker() -> None:
    history = [HistoryMessage("user", "word " * 5000)]
    prompt = assemble(command(), history, system="s", context_window=1024, max_output_tokens=256)
    assert prompt.kept == 1 and prompt.truncated
    assert prompt.messages[-1]["content"].endswith(TRUNCATION_MARKER)
    assert prompt.tokens_in <= 1024 - 256
    assert prompt.max_tokens >= 16


def test_the_authors_note_sits_at_its_depth_and_impersonate_asks_for_the_persona() -> None:
    history = [
        HistoryMessage("assistant", "The storm grows."),
        HistoryMessage("user", "Hold on!"),
        HistoryMessage("assistant", "The mast cracks."),
        HistoryMessage("user", "Jump!"),
    ]
    settings = GenerationSettings(author_note="[Note: {{char}} is afraid]", author_note_depth=2)
    prompt = assemble(
        command(generation=settings),
        history,
        system="s",
        context_window=4096,
        max_output_tokens=256,
    )
    contents = [m["content"] for m in prompt.messages]
    note = contents.index("[Note: Mira is afraid]")
    assert contents[note + 1 :] == ["The mast cracks.", "Jump!"]
    assert prompt.messages[note]["role"] == "system"
    assert [b.kind for b in prompt.blocks].count("author_note") == 1

    suggestion = assemble(
        command(kind="impersonate", content=None),
        history,
        system="s",
        context_window=4096,
        max_output_tokens=256,
    )
    assert suggestion.messages[-1]["role"] == "user"
    assert "Ash's next message" in suggestion.messages[-1]["content"]


def test_settings_layer_defaults_the_characters_and_the_conversations() -> None:
    effective = GenerationSettings.layered(
        {"temperature": 1.1, "top_p": 0.5, "stop": ["###"]},
        {"temperature": 0.2, "author_note": "terse"},
        {"temperature": 9},  # invalid: counts for nothing
    )
    assert effective.temperature == 0.2
    assert effective.top_p == 0.5
    assert effective.stop == ["###"]
    assert effective.author_note == "terse" and effective.author_note_depth == 4
    assert GenerationSettings.layered(None, {}).temperature == 0.8
