"""Conversation memory: when to fold old messages, and reading the model's answer."""

from __future__ import annotations

from roleplay_chat.domain.memory import parse, plan, request
from roleplay_chat.domain.prompt import HistoryMessage, Memory


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


def test_the_answer_is_parsed_leniently() -> None:
    before = Memory("old", ("Ash owes Mira",))
    parsed = parse(
        'Sure! {"summary": "They sailed.", "facts": ["Mira steers", "Mira steers"]}', before
    )
    assert parsed.summary == "They sailed." and parsed.facts == ("Mira steers",)
    assert parse("They sailed on.", before) == Memory("They sailed on.", ("Ash owes Mira",))
    assert parse("", before) == before


def test_the_request_carries_what_is_known_and_the_new_messages() -> None:
    messages = request(
        Memory("old", ("f1",)), [HistoryMessage("user", "hi")], character="Mira", user="Ash"
    )
    assert "Mira" in messages[0]["content"]
    assert "old" in messages[1]["content"] and "- f1" in messages[1]["content"]
    assert "Ash: hi" in messages[1]["content"]
