"""Through real Kafka: a lorebook key in the user's message puts the entry into the provider
request (as the stand-in records it), the scene reaches it too, the completed fact records
the activation, the greeting is stored with its macros rendered, and the prompt preview of
the command is exactly what the turn then sends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from roleplay_common.events import (
    CharacterCard,
    EventEnvelope,
    Lorebook,
    LorebookEntry,
    ModelRoute,
    RequestChatTurn,
    SceneContext,
)
from tests.conftest import IsolatedEnv
from tests.support.kafka import producer, tap
from tests.support.servers import free_port, serve
from tests.support.services import as_a_service


@pytest.fixture(scope="module")
async def services(test_env: IsolatedEnv) -> AsyncIterator[dict[str, str]]:
    from roleplay_chat.app import create_app as chat_app
    from roleplay_chat.settings import ChatSettings
    from roleplay_standin.app import create_app as standin_app

    ports = {"standin": free_port(), "chat": free_port()}
    standin = f"http://127.0.0.1:{ports['standin']}"
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serve(standin_app(standin), ports["standin"]))
        settings = ChatSettings(port=ports["chat"], provider_retries=0)
        await stack.enter_async_context(serve(chat_app(settings), ports["chat"]))
        yield {"standin": standin, "chat": f"http://127.0.0.1:{ports['chat']}"}


async def test_a_key_in_the_message_brings_its_entry_into_the_provider_request(
    services: dict[str, str],
) -> None:
    user_id, turn_id = uuid.uuid4(), uuid.uuid4()
    character = CharacterCard(
        id=uuid.uuid4(),
        name="Seraphina",
        nickname="Sera",
        first_message="Welcome, {{user}}. I am {{char}}.",
        lorebook=Lorebook(
            name="Sera's own",
            entries=[LorebookEntry(id="glade", keys=["glade"], content="The glade is warded.")],
        ),
    )
    persona = CharacterCard(id=uuid.uuid4(), role="user", name="Ash")
    book = Lorebook(
        id=uuid.uuid4(),
        name="Coast",
        entries=[
            LorebookEntry(
                id="lighthouse",
                keys=["lighthouse"],
                content="The lighthouse of {{user}}'s village burned in 1812.",
            ),
            LorebookEntry(id="castle", keys=["castle"], content="A castle on the hill."),
        ],
    )
    async with httpx.AsyncClient(base_url=services["chat"], headers=as_a_service()) as chat:
        created = await chat.post(
            "/internal/conversations",
            json={
                "user_id": str(user_id),
                "character": character.model_dump(mode="json"),
                "persona": persona.model_dump(mode="json"),
            },
        )
        assert created.status_code == 201, created.text
        conversation_id = created.json()["id"]
        messages = await chat.get(
            f"/internal/conversations/{conversation_id}/messages", params={"user_id": str(user_id)}
        )
        assert [m["content"] for m in messages.json()["items"]] == ["Welcome, Ash. I am Sera."]

    command = RequestChatTurn(
        turn_id=turn_id,
        conversation_id=conversation_id,
        user_id=user_id,
        kind="send",
        user_message_id=uuid.uuid4(),
        content="What happened to the LIGHTHOUSE?",
        character=character,
        persona=persona,
        lorebooks=[book],
        scene=SceneContext(name="Harbor", setting="a foggy pier at dawn"),
        routes=[
            ModelRoute(
                model_key="standin-chat",
                model_name="standin-chat",
                provider="standin",
                base_url=f"{services['standin']}/v1",
            )
        ],
        requested_at=datetime.now(UTC),
    )
    async with httpx.AsyncClient(base_url=services["chat"], headers=as_a_service()) as chat:
        previewed = await chat.post(
            "/internal/prompt-preview", json=command.model_dump(mode="json")
        )
        assert previewed.status_code == 200, previewed.text
        preview = previewed.json()
        other = command.model_copy(update={"user_id": uuid.uuid4()})
        refused = await chat.post("/internal/prompt-preview", json=other.model_dump(mode="json"))
        assert refused.status_code == 404
    assert [(e["entry_id"], e["key"]) for e in preview["lorebook_entries"]] == [
        ("lighthouse", "lighthouse")
    ]
    kinds = [b["kind"] for b in preview["blocks"]]
    assert kinds == ["lore_before", "system", "history", "history"]
    assert preview["budget"]["used"] <= preview["budget"]["available"]

    async with tap("chat.turn.events") as events, producer() as send:
        await send.send(RequestChatTurn.topic, EventEnvelope.wrap(command, producer="tests"))

        def ended(seen: list[EventEnvelope]) -> bool:
            return any(
                e.type in ("chat.turn.completed", "chat.turn.failed")
                and e.data.get("turn_id") == str(turn_id)
                for e in seen
            )

        seen = await events.wait_for(ended, timeout=60)
    [end] = [e for e in seen if e.data.get("turn_id") == str(turn_id) and "turn.c" in e.type]
    assert end.type == "chat.turn.completed", end.data
    records = end.data["lorebook_activations"]
    assert [(r["entry_id"], r["key"], r["inserted"]) for r in records] == [
        ("lighthouse", "lighthouse", True)
    ]

    async with httpx.AsyncClient(base_url=services["standin"]) as standin:
        recorded: list[dict[str, Any]] = (await standin.get("/_standin/requests")).json()
    sent = [
        r["body"]["messages"]
        for r in recorded
        if any("LIGHTHOUSE" in str(m.get("content")) for m in r["body"].get("messages", []))
    ]
    assert sent, recorded
    system = sent[-1][0]["content"]
    assert "The lighthouse of Ash's village burned in 1812." in system
    assert "castle" not in system.lower() and "glade" not in system.lower()
    assert "Setting: a foggy pier at dawn" in system
    assert sent[-1][-1] == {"role": "user", "content": "What happened to the LIGHTHOUSE?"}
    assert sent[-1] == preview["messages"]


async def test_a_prompt_that_cannot_fit_is_refused_with_a_clear_error(
    services: dict[str, str],
) -> None:
    user_id, turn_id = uuid.uuid4(), uuid.uuid4()
    character = CharacterCard(id=uuid.uuid4(), name="Verbose", system_prompt="rule " * 3000)
    async with httpx.AsyncClient(base_url=services["chat"], headers=as_a_service()) as chat:
        created = await chat.post(
            "/internal/conversations",
            json={"user_id": str(user_id), "character": character.model_dump(mode="json")},
        )
        conversation_id = created.json()["id"]
    command = RequestChatTurn(
        turn_id=turn_id,
        conversation_id=conversation_id,
        user_id=user_id,
        kind="send",
        user_message_id=uuid.uuid4(),
        content="hello",
        character=character,
        routes=[
            ModelRoute(
                model_key="tiny",
                model_name="standin-chat",
                provider="standin",
                base_url=f"{services['standin']}/v1",
                context_window=1024,
                max_output_tokens=256,
            )
        ],
        requested_at=datetime.now(UTC),
    )
    async with tap("chat.turn.events") as events, producer() as send:
        await send.send(RequestChatTurn.topic, EventEnvelope.wrap(command, producer="tests"))
        seen = await events.wait_for(
            lambda seen: any(
                e.type == "chat.turn.failed" and e.data.get("turn_id") == str(turn_id) for e in seen
            ),
            timeout=60,
        )
    [failed] = [
        e for e in seen if e.type == "chat.turn.failed" and e.data["turn_id"] == str(turn_id)
    ]
    assert failed.data["error"]["code"] == "prompt_too_large"
