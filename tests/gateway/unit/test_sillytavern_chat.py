"""SillyTavern chat JSONL: what is written reads back, and what is bad says which line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roleplay_gateway.conversations.sillytavern import ChatFileError, read, write

FIXTURE = Path(__file__).parents[2] / "fixtures" / "sillytavern" / "seraphina_chat.jsonl"


def test_a_written_chat_reads_back() -> None:
    text = write(
        user_name="Ash",
        character_name="Mira",
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
        messages=[
            {
                "sender": "assistant",
                "content": "b",
                "alternatives": ["a", "b"],
                "selected_index": 1,
                "created_at": "2026-01-02T00:00:00+00:00",
            },
            {
                "sender": "user",
                "content": "hi",
                "alternatives": [],
                "selected_index": 0,
                "created_at": "2026-01-02T00:01:00+00:00",
            },
        ],
    )
    header, *rows = [json.loads(line) for line in text.splitlines()]
    assert header["user_name"] == "Ash" and header["character_name"] == "Mira"
    assert rows[0] == {
        "name": "Mira",
        "is_user": False,
        "is_system": False,
        "send_date": "2026-01-02T00:00:00+00:00",
        "mes": "b",
        "swipes": ["a", "b"],
        "swipe_id": 1,
        "extra": {},
    }
    chat = read(text.encode())
    assert [(m.is_user, m.content, m.swipes, m.swipe_id) for m in chat.messages] == [
        (False, "b", ["a", "b"], 1),
        (True, "hi", ["hi"], 0),
    ]
    assert chat.messages[1].send_date == datetime(2026, 1, 2, 0, 1, tzinfo=UTC)


def test_sillytavern_variations_are_read() -> None:
    chat = read(FIXTURE.read_bytes())
    assert chat.character_name == "Seraphina"
    assert [m.is_user for m in chat.messages] == [False, True, False]  # the system note skipped
    assert chat.messages[0].send_date == datetime(2023, 5, 12, 13, 49, tzinfo=UTC)
    assert chat.messages[2].swipe_id == 1
    assert chat.messages[2].send_date == datetime.fromtimestamp(1683899520, UTC)
    headless = read(b'{"is_user": false, "mes": "x", "swipes": ["y"], "swipe_id": 0}')
    assert headless.messages[0].swipes == ["y", "x"] and headless.messages[0].swipe_id == 1


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"\xff\xfe", "UTF-8"),
        (b'{"user_name": "a"}\n{oops', "line 2 is not JSON"),
        (b'{"user_name": "a"}\n"text"', "line 2 is not a JSON object"),
        (b'{"user_name": "a"}\n{"is_user": true}', "line 2 has no `mes`"),
        (b'{"user_name": "a"}\n{"mes": "hi"}', "line 2 has no `is_user`"),
        (b'{"user_name": "a"}', "no messages"),
        (b'{"is_user": true, "mes": "a\\u0000b"}', "line 1: a message must not contain NUL"),
        (json.dumps({"is_user": True, "mes": "x" * 16_001}).encode(), "longer than 16000"),
        (b'{"is_user": true, "mes": "hi"}\n' * 10_002, "more than 10001 lines"),
    ],
)
def test_bad_files_say_why(data: bytes, says: str) -> None:
    with pytest.raises(ChatFileError, match=says):
        read(data)
