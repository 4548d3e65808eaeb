"""Three-tier memory end to end: extracted after a turn by the catalog's memory model, carried
into new chats (the character tier with the same character, the profile tier with any),
edited, pinned and forgotten through HTTP, and never in the way of a reply."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack, User
from tests.e2e.test_access_and_input import assert_error
from tests.e2e.test_chat_turns import send_streaming, start_conversation, text_of
from tests.e2e.test_conversation_events import read_until
from tests.support.sse import Event

MEMORY_MODEL = "standin-memory"
STORY_FACT = "The lighthouse lamp burns green"
CHARACTER_FACT = "User is afraid of deep water"
PROFILE_FACT = "User works as a baker in Porto"
EXTRACTED = json.dumps(
    {
        "summary": "User told the keeper about their bakery.",
        "facts": [STORY_FACT],
        "character": [CHARACTER_FACT],
        "profile": [PROFILE_FACT],
    }
)


@pytest.fixture
async def memory_model(stack: Stack, admin: httpx.AsyncClient) -> AsyncIterator[str]:
    """A `memory` task model on the stand-in, which answers with `EXTRACTED`."""
    await stack.standin_config(scripted_replies={MEMORY_MODEL: EXTRACTED})
    providers = (await admin.get("/v1/admin/providers")).json()["items"]
    standin = next(p for p in providers if p["name"] == "standin")
    created = await admin.post(
        "/v1/admin/models",
        json={
            "key": f"memory-{uuid.uuid4().hex[:8]}",
            "provider_id": standin["id"],
            "model_name": MEMORY_MODEL,
            "modality": "chat",
            "task": "memory",
            "is_default": True,
            "context_window": 4096,
            "max_output_tokens": 600,
        },
    )
    assert created.status_code == 201, created.text
    try:
        yield created.json()["key"]
    finally:
        await admin.delete(f"/v1/admin/models/{created.json()['id']}")


@pytest.fixture
def fold_every_turn(stack: Stack) -> Iterator[None]:
    """Memory folds every message after every turn while the test runs."""
    settings = stack.chat_settings
    before = (settings.memory_keep_recent, settings.memory_batch)
    settings.memory_keep_recent, settings.memory_batch = 0, 1
    try:
        yield
    finally:
        settings.memory_keep_recent, settings.memory_batch = before


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def conversation_memory(user: User, conversation_id: str, *, wanted: int) -> Any:
    """The conversation's memory once it holds `wanted` items (memory is updated after the
    reply, in the background)."""
    deadline = time.monotonic() + 20
    while True:
        memory = await ok(await user.client.get(f"/v1/conversations/{conversation_id}/memory"))
        if len(memory["items"]) >= wanted or time.monotonic() > deadline:
            return memory
        await asyncio.sleep(0.1)


async def preview(user: User, conversation_id: str, content: str = "Hello") -> Any:
    path = f"/v1/conversations/{conversation_id}/prompt-preview"
    return await ok(await user.client.get(path, params={"content": content}))


def texts(items: list[dict[str, Any]]) -> dict[str, str]:
    return {i["text"]: i["tier"] for i in items}


async def test_a_fact_told_in_one_chat_is_known_in_new_chats_by_tier(
    stack: Stack, new_user: Any, memory_model: str, fold_every_turn: None
) -> None:
    user: User = await new_user()
    first = await start_conversation(user)
    feed: list[Event] = []
    async with user.client.stream("GET", f"/v1/conversations/{first['id']}/events") as events:
        reader = asyncio.create_task(read_until(events, {"memory.updated"}, feed))
        seen = await send_streaming(user, first["id"], "I bake bread in Porto, and I hate the sea.")
        assert seen[-1].name == "turn.completed"
        await asyncio.wait_for(reader, 20)
    assert feed[-1].data["conversation_id"] == first["id"]

    memory = await conversation_memory(user, first["id"], wanted=3)
    assert memory["summary"] == "User told the keeper about their bakery."
    assert texts(memory["items"]) == {
        STORY_FACT: "conversation",
        CHARACTER_FACT: "character",
        PROFILE_FACT: "profile",
    }
    told = [
        m["id"]
        for m in (await ok(await user.client.get(f"/v1/conversations/{first['id']}/messages")))[
            "items"
        ]
    ]
    for item in memory["items"]:
        assert item["source_message_ids"] and set(item["source_message_ids"]) <= set(told)
    asked = [r for r in await stack.standin_requests() if r["model"] == MEMORY_MODEL]
    assert asked and "I bake bread in Porto" in json.dumps(asked[-1]["body"]["messages"])

    # A new chat with the same character knows the character and profile tiers.
    again = await start_conversation(user)
    shown = await preview(user, again["id"])
    assert texts(shown["memory"]) == {CHARACTER_FACT: "character", PROFILE_FACT: "profile"}
    assert CHARACTER_FACT in shown["messages"][0]["content"]
    assert any(b["kind"] == "memory" for b in shown["blocks"])
    seen = await send_streaming(user, again["id"], "Do you remember me?")
    assert seen[-1].name == "turn.completed"
    sent = [
        r["body"]["messages"]
        for r in await stack.standin_requests()
        if r["body"]["messages"][-1]["content"] == "Do you remember me?"
    ]
    assert PROFILE_FACT in sent[-1][0]["content"] and CHARACTER_FACT in sent[-1][0]["content"]
    assert STORY_FACT not in sent[-1][0]["content"]

    # Another character knows only the profile.
    other = await ok(
        await user.client.post("/v1/characters", json={"name": "Quill", "first_message": "Hi."}),
        201,
    )
    elsewhere = await start_conversation(user, uuid.UUID(other["id"]))
    shown = await preview(user, elsewhere["id"])
    assert texts(shown["memory"]) == {PROFILE_FACT: "profile"}

    # Tiers are listed on their own.
    listed = await ok(
        await user.client.get(
            "/v1/memory", params={"tier": "character", "character_id": first["character_id"]}
        )
    )
    assert [i["text"] for i in listed["items"]] == [CHARACTER_FACT]
    assert [
        i["text"]
        for i in (await ok(await user.client.get("/v1/memory", params={"tier": "profile"})))[
            "items"
        ]
    ] == [PROFILE_FACT]


async def test_edit_pin_and_forget_are_honoured_by_the_next_prompt(
    stack: Stack, new_user: Any, memory_model: str, fold_every_turn: None
) -> None:
    user: User = await new_user()
    first = await start_conversation(user)
    await send_streaming(user, first["id"], "I bake bread in Porto.")
    items = {
        i["text"]: i for i in (await conversation_memory(user, first["id"], wanted=3))["items"]
    }

    # Edit: the new text is what the prompt carries.
    profile = items[PROFILE_FACT]
    edited = await ok(
        await user.client.patch(
            f"/v1/memory/{profile['id']}", json={"text": "User now bakes in Lisbon"}
        )
    )
    assert edited["origin"] == "user"
    system = (await preview(user, first["id"]))["messages"][0]["content"]
    assert "User now bakes in Lisbon" in system and PROFILE_FACT not in system

    # Forget: gone from the prompt, and the next extraction (same answer) does not bring it back.
    character = items[CHARACTER_FACT]
    assert (await user.client.delete(f"/v1/memory/{character['id']}")).status_code == 204
    assert CHARACTER_FACT not in (await preview(user, first["id"]))["messages"][0]["content"]
    before = len([r for r in await stack.standin_requests() if r["model"] == MEMORY_MODEL])
    await send_streaming(user, first["id"], "Tell me about the lamp.")
    deadline = time.monotonic() + 20
    while (
        len([r for r in await stack.standin_requests() if r["model"] == MEMORY_MODEL]) == before
        and time.monotonic() < deadline
    ):
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # the extraction's transaction commits after its answer
    memory = await conversation_memory(user, first["id"], wanted=0)
    assert CHARACTER_FACT not in texts(memory["items"])
    assert PROFILE_FACT not in texts(memory["items"])  # edited, so a correction, not a copy
    assert (
        await user.client.patch(f"/v1/memory/{character['id']}", json={"pinned": True})
    ).status_code == 404

    # Pin: with more profile items than the tier's share holds, the pinned one comes first.
    filler = [
        f"User once visited town number {n} and liked its old stone bridges a lot"
        for n in range(40)
    ]
    made = [
        await ok(await user.client.post("/v1/memory", json={"tier": "profile", "text": t}), 201)
        for t in filler
    ]
    oldest = made[0]
    shown = (await preview(user, first["id"]))["memory"]
    assert oldest["id"] not in [i["id"] for i in shown]
    await ok(await user.client.patch(f"/v1/memory/{oldest['id']}", json={"pinned": True}))
    shown = (await preview(user, first["id"]))["memory"]
    profile_shown = [i for i in shown if i["tier"] == "profile"]
    assert profile_shown[0]["id"] == oldest["id"] and profile_shown[0]["pinned"]
    assert len(profile_shown) < len(filler)


async def test_memory_routes_check_input_and_owner(stack: Stack, new_user: Any) -> None:
    user: User = await new_user()
    other: User = await new_user()
    conversation = await start_conversation(user)
    assert_error(
        await user.client.post("/v1/memory", json={"tier": "conversation", "text": "x"}), 422
    )
    assert_error(await user.client.post("/v1/memory", json={"tier": "era", "text": "x"}), 422)
    assert_error(await user.client.post("/v1/memory", json={"tier": "profile", "text": ""}), 422)
    assert_error(await user.client.post("/v1/memory", json={"tier": "profile", "text": "!!"}), 422)
    assert_error(await user.client.get("/v1/memory", params={"tier": "nope"}), 422)
    made = await ok(
        await user.client.post(
            "/v1/memory",
            json={
                "tier": "conversation",
                "text": "The key is under the mat",
                "conversation_id": conversation["id"],
                "pinned": True,
            },
            headers={"Idempotency-Key": "mem-1"},
        ),
        201,
    )
    again = await ok(
        await user.client.post(
            "/v1/memory",
            json={
                "tier": "conversation",
                "text": "The key is under the mat",
                "conversation_id": conversation["id"],
                "pinned": True,
            },
            headers={"Idempotency-Key": "mem-1"},
        ),
        201,
    )
    assert again["id"] == made["id"]
    twin = await ok(
        await user.client.post(
            "/v1/memory",
            json={
                "tier": "conversation",
                "text": "The door is blue",
                "conversation_id": conversation["id"],
            },
        ),
        201,
    )
    assert_error(
        await user.client.patch(
            f"/v1/memory/{twin['id']}", json={"text": "the key is under the MAT!"}
        ),
        409,
        "already_remembered",
    )
    assert (await user.client.delete(f"/v1/memory/{twin['id']}")).status_code == 204
    assert made["pinned"] and made["conversation_id"] == conversation["id"]
    assert_error(await user.client.patch(f"/v1/memory/{made['id']}", json={"text": None}), 422)
    assert_error(await other.client.get(f"/v1/conversations/{conversation['id']}/memory"), 404)
    assert_error(await other.client.patch(f"/v1/memory/{made['id']}", json={"pinned": False}), 404)
    assert_error(await other.client.delete(f"/v1/memory/{made['id']}"), 404)
    assert_error(
        await other.client.post(
            "/v1/memory",
            json={"tier": "conversation", "text": "mine", "conversation_id": conversation["id"]},
        ),
        404,
    )
    assert (await other.client.get("/v1/memory", params={"tier": "conversation"})).json()[
        "items"
    ] == []
    shown = (await preview(user, conversation["id"]))["memory"]
    assert [i["id"] for i in shown] == [made["id"]]


async def test_a_failing_memory_model_leaves_replies_intact_and_undelayed(
    stack: Stack, new_user: Any, memory_model: str, fold_every_turn: None
) -> None:
    await stack.standin_config(
        scripted_replies={MEMORY_MODEL: EXTRACTED},
        failures=[
            {
                "family": "chat",
                "model": MEMORY_MODEL,
                "kind": "stall",
                "stall_seconds": 30,
                "count": -1,
            }
        ],
    )
    user: User = await new_user()
    conversation = await start_conversation(user)
    for n in range(2):
        seen = await send_streaming(user, conversation["id"], f"Message {n}")
        assert seen[-1].name == "turn.completed"
        assert seen[-1].data["message"]["content"] == text_of(seen)
    asked = [r for r in await stack.standin_requests() if r["model"] == MEMORY_MODEL]
    assert asked and all(r["outcome"] == "stall" for r in asked)
    stored = (await ok(await user.client.get(f"/v1/conversations/{conversation['id']}/messages")))[
        "items"
    ]
    assert [m["sender"] for m in stored][-4:] == ["user", "assistant", "user", "assistant"]


async def test_messages_the_budget_cuts_are_folded_into_memory_at_once(
    stack: Stack, new_user: Any, admin: httpx.AsyncClient, memory_model: str
) -> None:
    """Far fewer messages than the recent window (40), but a small context: what the prompt
    no longer holds is in the memory model's requests, so nothing falls out of both."""
    await stack.standin_config(output_tokens=40, scripted_replies={MEMORY_MODEL: EXTRACTED})
    models = (await admin.get("/v1/admin/models")).json()["items"]
    fallback = next(m for m in models if m["key"] == "standin-fallback")
    path = f"/v1/admin/models/{fallback['id']}"
    assert (await admin.patch(path, json={"context_window": 900})).status_code == 200
    user: User = await new_user()
    conversation = await start_conversation(user)
    try:
        for n in range(6):
            content = f"message number {n} " + "padding " * 60
            seen = await send_streaming(user, conversation["id"], content, model="standin-fallback")
            assert seen[-1].name == "turn.completed"
        shown = await ok(
            await user.client.get(
                f"/v1/conversations/{conversation['id']}/prompt-preview",
                params={"kind": "continue", "model": "standin-fallback"},
            )
        )
    finally:
        await admin.patch(path, json={"context_window": 4096})
    assert shown["budget"]["history_dropped"] > 0
    in_prompt = json.dumps([m["content"] for m in shown["messages"]])
    stored = (
        await ok(
            await user.client.get(f"/v1/conversations/{conversation['id']}/messages?limit=100")
        )
    )["items"]
    deadline = time.monotonic() + 20
    while True:
        folded = json.dumps(
            [r["body"] for r in await stack.standin_requests() if r["model"] == MEMORY_MODEL]
        )
        missing = [
            m["content"][:40]
            for m in stored
            if json.dumps(m["content"])[1:-1] not in in_prompt
            and json.dumps(m["content"])[1:-1] not in folded
        ]
        if not missing or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert missing == []
    assert (await conversation_memory(user, conversation["id"], wanted=3))["summary"]
