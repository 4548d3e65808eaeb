"""Memory in the prompt: pinned first, then relevance, each tier within its share."""

from __future__ import annotations

from roleplay_chat.domain.memory_recall import (
    TIER_SHARES,
    LexicalRelevance,
    MemoryNote,
    rank,
    select,
)
from roleplay_chat.domain.prompt import HistoryMessage, Memory, assemble, plan_prompt
from roleplay_chat.domain.tokens import count_tokens
from tests.chat.unit.test_prompt import command


def test_relevant_items_outrank_others_and_pinned_outrank_all() -> None:
    notes = [
        MemoryNote("1", "profile", "Ash works night shifts at the bakery"),
        MemoryNote("2", "profile", "Ash has a grey cat called Pepper"),
        MemoryNote("3", "profile", "Ash was born in Lisbon", pinned=True),
    ]
    ranked = rank(notes, ["How is Pepper, your cat?"])
    assert [n.id for n in ranked] == ["3", "2", "1"]
    scores = LexicalRelevance().scores(["bakery"], [n.text for n in notes])
    assert scores[0] > 0 and scores[1] == 0


def test_each_tier_stays_within_its_share() -> None:
    long = "word " * 30
    notes = [MemoryNote(str(i), "profile", f"{long} {i}") for i in range(20)]
    notes.append(MemoryNote("c", "conversation", "The ship is called Dawn"))
    chosen = select(notes, budget=4000, room=4000, count=count_tokens)
    profile = [n for n in chosen if n.tier == "profile"]
    assert sum(count_tokens(n.text) + 2 for n in profile) <= 4000 * TIER_SHARES["profile"]
    assert profile and len(profile) < 20
    assert any(n.id == "c" for n in chosen)


def test_the_prompt_carries_the_chosen_items_in_the_system_message() -> None:
    memory = Memory(
        "They met at the harbour.",
        items=(
            MemoryNote("p", "profile", "Ash is a baker"),
            MemoryNote("c", "character", "Ash fears deep water"),
        ),
    )
    plan = plan_prompt(command(), [HistoryMessage("user", "hello")], memory=memory)
    prompt = assemble(plan, context_window=4096, max_output_tokens=256)
    system = prompt.messages[0]["content"]
    assert "Ash is a baker" in system and "Ash fears deep water" in system
    assert "They met at the harbour." in system
    assert {n.id for n in prompt.memory} == {"p", "c"}
    assert any(b.kind == "memory" for b in prompt.blocks)
