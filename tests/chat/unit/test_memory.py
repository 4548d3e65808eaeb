"""Conversation memory: when to fold old messages, and reading the model's answer."""

from __future__ import annotations

from roleplay_chat.domain.memory import Extracted, new_items, normalize, parse, plan, request
from roleplay_chat.domain.prompt import ChatPrompt, HistoryMessage, Memory
from roleplay_chat.memory import budget_window


def history(n: int) -> list[tuple[int, HistoryMessage]]:
    return [
        (i + 1, HistoryMessage("user" if i % 2 else "assistant", f"m{i + 1}")) for i in range(n)
    ]


def test_nothing_is_folded_until_a_batch_has_left_the_recent_window() -> None:
    assert plan(history(50), through_position=0, keep_recent=40, batch=20) is None
    todo = plan(history(60), through_position=0, keep_recent=40, batch=20)
    assert todo is not None
    assert [m.content for m in todo.messages] == [f"m{i}" for i in range(1, 21)]
    assert todo.through_position == 20
    assert plan(history(60), through_position=20, keep_recent=40, batch=20) is None


def test_messages_cut_by_the_budget_are_folded_at_once() -> None:
    # The prompt held only 6 messages: the 4 outside it are folded although fewer than a batch.
    todo = plan(history(10), through_position=0, keep_recent=40, batch=20, window=6)
    assert todo is not None
    assert [m.content for m in todo.messages] == ["m1", "m2", "m3", "m4"]
    assert todo.positions == [1, 2, 3, 4]
    assert plan(history(10), through_position=4, keep_recent=40, batch=20, window=6) is None


def test_the_answer_is_parsed_leniently_into_three_tiers() -> None:
    parsed = parse(
        'Sure! {"summary": "They sailed.", "facts": ["Mira steers", "Mira steers"], '
        '"character": ["Ash fears the sea"], "profile": ["Ash is a baker"]}',
        "old",
    )
    assert parsed.summary == "They sailed."
    assert parsed.items == {
        "conversation": ["Mira steers"],
        "character": ["Ash fears the sea"],
        "profile": ["Ash is a baker"],
    }
    assert parse("They sailed on.", "old") == Extracted("They sailed on.", {})
    assert parse("", "old") == Extracted("old", {})


def test_new_items_skip_what_is_known_or_forgotten_by_normalised_text() -> None:
    known = ["Ash is a baker.", "ash LOVES  the sea"]  # the second is a forgotten tombstone
    assert new_items(["Ash is a Baker", "Ash loves the sea!", "Ash has a cat"], known) == [
        "Ash has a cat"
    ]
    assert normalize("  Élodie's  café! ") == "elodie s cafe"


def test_the_request_carries_what_is_known_and_the_new_messages() -> None:
    messages = request(
        Memory("old"), [HistoryMessage("user", "hi")], character="Mira", user="Ash", known=["f1"]
    )
    assert "Mira" in messages[0]["content"] and "profile" in messages[0]["content"]
    assert "old" in messages[1]["content"] and "- f1" in messages[1]["content"]
    assert "Ash: hi" in messages[1]["content"]


def test_the_budget_sets_the_window_when_it_cuts_or_nearly_does() -> None:
    roomy = ChatPrompt(messages=[], tokens_in=100, kept=10, dropped=0, budget=1000)
    full = ChatPrompt(messages=[], tokens_in=800, kept=10, dropped=0, budget=1000)
    cut = ChatPrompt(messages=[], tokens_in=990, kept=6, dropped=4, budget=1000)
    assert budget_window(roomy) is None
    assert budget_window(full) == 8
    assert budget_window(cut) == 4
