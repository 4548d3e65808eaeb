"""The prompt uses the whole card: {{original}}, post-history, examples, depth prompt, scene,
lorebook insertions, all within the budget."""

from __future__ import annotations

import uuid
from typing import Any

from roleplay_chat.domain.prompt import HistoryMessage, activation_records, assemble, plan_prompt
from roleplay_common.events import (
    CharacterCard,
    DepthPrompt,
    Lorebook,
    LorebookEntry,
    PromptTemplate,
    SceneContext,
)
from tests.chat.unit.test_prompt import command


def card(**fields: Any) -> CharacterCard:
    return CharacterCard(id=uuid.uuid4(), name="Seraphina", **fields)


def chat(n: int, words: int = 5) -> list[HistoryMessage]:
    return [
        HistoryMessage("user" if i % 2 else "assistant", f"m{i} " + "word " * words)
        for i in range(n)
    ]


def test_system_prompt_and_post_history_with_original_and_macros() -> None:
    turn = command(
        character=card(
            nickname="Sera",
            system_prompt="{{original}}\nAlways answer as {{Char}} to <USER>.",
            post_history_instructions="Stay as {{char}}. {{original}}",
        )
    )
    prompt = assemble(plan_prompt(turn, chat(2)), context_window=4096, max_output_tokens=256)
    system = prompt.messages[0]["content"]
    assert system.startswith("You are Seraphina") and "Always answer as Sera to Ash." in system
    assert prompt.messages[-1] == {"role": "system", "content": "Stay as Sera."}


def test_examples_split_at_start_and_pruned_first() -> None:
    examples = "<START>\n{{char}}: first example\n<START>\n{{user}}: second " + "word " * 200
    turn = command(character=card(example_dialogue=examples))
    roomy = assemble(plan_prompt(turn, chat(2)), context_window=8192, max_output_tokens=256)
    assert [b.text for b in roomy.blocks if b.kind == "example"] == [
        "Seraphina: first example",
        "Ash: second " + ("word " * 200).strip(),
    ]
    tight = assemble(plan_prompt(turn, chat(40, 5)), context_window=900, max_output_tokens=100)
    assert [b.kind for b in tight.blocks].count("example") < 2
    assert tight.dropped == 0


def test_depth_prompt_at_its_depth_with_its_role() -> None:
    turn = command(character=card(depth_prompt=DepthPrompt(prompt="Note on {{char}}", depth=2)))
    prompt = assemble(plan_prompt(turn, chat(5)), context_window=4096, max_output_tokens=256)
    assert prompt.messages[-3] == {"role": "system", "content": "Note on Seraphina"}
    assert prompt.messages[-2]["content"].startswith("m3")


def test_scene_context_and_starters() -> None:
    scene = SceneContext(
        name="Harbor",
        setting="a foggy pier",
        scenario="{{user}} arrives late",
        atmosphere="tense",
        starters=["The bell rings."],
    )
    prompt = assemble(
        plan_prompt(command(scene=scene, kind="continue", content=None), []),
        context_window=4096,
        max_output_tokens=256,
    )
    system = prompt.messages[0]["content"]
    assert "Setting: a foggy pier" in system and "Scenario: Ash arrives late" in system
    assert "Atmosphere: tense" in system
    assert "The bell rings." in prompt.messages[-1]["content"]


def test_lorebook_entries_are_placed_and_recorded() -> None:
    book = Lorebook(
        id=uuid.uuid4(),
        name="world",
        entries=[
            LorebookEntry(id="before", keys=["harbor"], content="The harbor of {{user}}."),
            LorebookEntry(id="after", keys=["harbor"], content="Gulls.", position="after_char"),
            LorebookEntry(id="deep", keys=["harbor"], content="@@depth 0\n@@role user\nSalt."),
            LorebookEntry(id="none", keys=["castle"], content="A castle."),
        ],
    )
    history = [*chat(2), HistoryMessage("user", "We reach the HARBOR.")]
    prompt = assemble(
        plan_prompt(command(lorebooks=[book]), history), context_window=4096, max_output_tokens=256
    )
    system = prompt.messages[0]["content"]
    assert system.startswith("The harbor of Ash.") and "Gulls." in system
    assert prompt.messages[-1] == {"role": "user", "content": "Salt."}
    assert prompt.messages[-2]["content"] == "We reach the HARBOR."
    records = activation_records(prompt)
    assert [(r.entry_id, r.key, r.inserted) for r in records] == [
        ("before", "harbor", True),
        ("after", "harbor", True),
        ("deep", "harbor", True),
    ]
    assert prompt.tokens_in <= prompt.budget


def test_the_budget_drops_lore_by_priority_and_holds_for_everything() -> None:
    big = "lore " * 120
    book = Lorebook(
        entries=[
            LorebookEntry(id="low", constant=True, priority=1, content=big),
            LorebookEntry(id="high", constant=True, priority=5, content=big),
        ]
    )
    prompt = assemble(
        plan_prompt(command(lorebooks=[book]), chat(60, 20)),
        context_window=1200,
        max_output_tokens=200,
    )
    records = {r.entry_id: r.inserted for r in activation_records(prompt)}
    assert records == {"high": True, "low": False}
    assert prompt.tokens_in <= 1000


def test_the_character_book_travels_in_the_card() -> None:
    own = Lorebook(entries=[LorebookEntry(id="own", keys=["sword"], content="A blade.")])
    turn = command(character=card(lorebook=own))
    prompt = assemble(
        plan_prompt(turn, [HistoryMessage("user", "my sword")]),
        context_window=4096,
        max_output_tokens=256,
    )
    [record] = activation_records(prompt)
    assert record.book_source == "character" and record.entry_id == "own"


def test_a_replayed_command_activates_and_renders_the_same() -> None:
    book = Lorebook(
        entries=[
            LorebookEntry(id=f"e{i}", keys=["storm"], probability=50, content="{{random:a,b,c}}")
            for i in range(20)
        ]
    )
    turn = command(lorebooks=[book], character=card(system_prompt="{{pick:x,y,z}} {{roll:d20}}"))
    history = [HistoryMessage("user", "the storm")]

    def run() -> tuple[list[dict[str, str]], list[tuple[str, bool]]]:
        prompt = assemble(plan_prompt(turn, history), context_window=4096, max_output_tokens=256)
        return prompt.messages, [(r.entry_id, r.inserted) for r in activation_records(prompt)]

    first = run()
    assert first == run()
    assert 0 < len(first[1]) < 20
    plan = plan_prompt(turn, history)
    once = assemble(plan, context_window=4096, max_output_tokens=256)
    again = assemble(plan, context_window=4096, max_output_tokens=256)
    assert once.messages == again.messages == first[0]


def test_activation_decorators_count_the_whole_chat_not_the_history_read() -> None:
    book = Lorebook(
        entries=[
            LorebookEntry(id="late", keys=["storm"], content="@@activate_only_after 250\nLate."),
            LorebookEntry(id="every", keys=["storm"], content="@@activate_only_every 7\nTick."),
        ]
    )
    turn = command(lorebooks=[book])
    history = [*chat(199), HistoryMessage("user", "the storm")]  # the newest 200 of a longer chat

    def activated(message_count: int | None) -> list[str]:
        plan = plan_prompt(turn, history, message_count=message_count)
        return [a.compiled.entry.id for a in plan.activations]

    assert activated(None) == []  # 200 messages: neither 250 yet nor a multiple of 7
    assert activated(251) == ["late"]
    assert activated(252) == ["late", "every"]
    assert activated(203) == ["every"]


def test_position_personality_and_scenario_go_inside_those_fields() -> None:
    book = Lorebook(
        entries=[
            LorebookEntry(
                id="fear", keys=["sea"], content="@@position personality\nFears {{user}}."
            ),
            LorebookEntry(id="gale", keys=["sea"], content="@@position scenario\nA gale rises."),
            LorebookEntry(id="plain", keys=["sea"], content="@@position after_desc\nSalt air."),
        ]
    )
    history = [HistoryMessage("user", "To the sea!")]
    turn = command(lorebooks=[book], template=None)
    prompt = assemble(plan_prompt(turn, history), context_window=4096, max_output_tokens=256)
    system = prompt.messages[0]["content"]
    assert "Personality: curious and dry-witted\nFears Ash.\nScenario: a storm at sea\n" in system
    assert "Scenario: a storm at sea\nA gale rises.\n" in system
    assert system.count("Fears Ash.") == 1 and system.count("A gale rises.") == 1
    assert system.index("Salt air.") > system.index("Stay in character.")
    assert all(r.inserted for r in activation_records(prompt))
    assert prompt.tokens_in <= prompt.budget
    # A template with no personality or scenario: the entries go after the character.
    bare = command(
        lorebooks=[book], template=PromptTemplate(name="t", system_prompt="Be {{char}}.")
    )
    system = assemble(
        plan_prompt(bare, history), context_window=4096, max_output_tokens=256
    ).messages[0]["content"]
    assert system.startswith("Be Mira.") and "Fears Ash." in system and "A gale rises." in system
