"""`@@activate_only_after` counts the whole conversation, not the newest `history_limit`
messages the prompt reads: the prompt preview (as the turn) passes the stored count."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from roleplay_common.events import (
    CharacterCard,
    Lorebook,
    LorebookEntry,
    ModelRoute,
    RequestChatTurn,
)
from tests.conftest import IsolatedEnv
from tests.support.servers import free_port, serve
from tests.support.services import as_a_service


@pytest.fixture(scope="module")
async def chat_url(test_env: IsolatedEnv) -> AsyncIterator[str]:
    from roleplay_chat.app import create_app as chat_app
    from roleplay_chat.settings import ChatSettings

    port = free_port()
    async with serve(chat_app(ChatSettings(port=port, history_limit=1)), port):
        yield f"http://127.0.0.1:{port}"


async def test_the_preview_counts_messages_beyond_the_history_read(chat_url: str) -> None:
    user_id = uuid.uuid4()
    character = CharacterCard(id=uuid.uuid4(), name="Sera", first_message="Welcome.")
    book = Lorebook(
        entries=[
            LorebookEntry(id="second", keys=["storm"], content="@@activate_only_after 2\nTwo."),
            LorebookEntry(id="third", keys=["storm"], content="@@activate_only_after 3\nThree."),
        ]
    )
    async with httpx.AsyncClient(base_url=chat_url, headers=as_a_service()) as chat:
        created = await chat.post(
            "/internal/conversations",
            json={"user_id": str(user_id), "character": character.model_dump(mode="json")},
        )
        assert created.status_code == 201, created.text
        command = RequestChatTurn(
            turn_id=uuid.uuid4(),
            conversation_id=created.json()["id"],
            user_id=user_id,
            kind="send",
            user_message_id=uuid.uuid4(),
            content="A storm is coming.",
            character=character,
            lorebooks=[book],
            routes=[
                ModelRoute(
                    model_key="standin-chat",
                    model_name="standin-chat",
                    provider="standin",
                    base_url="http://127.0.0.1:9/v1",
                )
            ],
            requested_at=datetime.now(UTC),
        )
        previewed = await chat.post(
            "/internal/prompt-preview", json=command.model_dump(mode="json")
        )
    assert previewed.status_code == 200, previewed.text
    preview = previewed.json()
    # The greeting and the message being sent: two, though only the newest one is read.
    assert preview["budget"]["history_kept"] == 1
    assert [e["entry_id"] for e in preview["lorebook_entries"]] == ["second"]
