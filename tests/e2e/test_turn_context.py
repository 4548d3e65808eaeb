"""The turn command carries what the card says beyond its text: nickname, post-history
instructions, the depth prompt, the character's own book, the persona's and the
conversation's books, and the conversation's scene."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from roleplay_common.events import RequestChatTurn
from tests.e2e.conftest import Stack, User
from tests.e2e.test_chat_turns import send_streaming
from tests.support.kafka import tap

KEEPER = (Path(__file__).parents[1] / "fixtures" / "cards" / "keeper_v3.json").read_bytes()


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def book(user: User, name: str, key: str) -> dict[str, Any]:
    entry = {"keys": [key], "content": f"{name} lore about {key}."}
    return await ok(
        await user.client.post("/v1/lorebooks", json={"name": name, "entries": [entry]}), 201
    )


async def test_the_published_command_carries_the_turn_context(stack: Stack, new_user: Any) -> None:
    await stack.standin_config()
    user: User = await new_user()
    keeper = await ok(
        await user.client.post("/v1/characters/import", files={"file": ("k.json", KEEPER)}), 201
    )
    persona_book = await book(user, "Persona book", "ferry")
    conversation_book = await book(user, "Conversation book", "storm")
    persona = await ok(
        await user.client.post(
            "/v1/characters",
            json={"name": "Ada", "role": "user", "lorebook_ids": [persona_book["id"]]},
        ),
        201,
    )
    scene = await ok(
        await user.client.post(
            "/v1/scene-templates",
            json={
                "name": "Winter watch",
                "setting": "The lamp room at night.",
                "scenario": "A storm is coming in.",
                "atmosphere": "Cold, tense, salt in the air.",
                "scene_starters": ["The glass rattles."],
            },
        ),
        201,
    )
    conversation = await ok(
        await user.client.post(
            "/v1/conversations",
            json={
                "character_id": keeper["id"],
                "persona_id": persona["id"],
                "scene_template_id": scene["id"],
            },
        ),
        201,
    )
    assert conversation["lorebook_ids"] == []
    attached = await ok(
        await user.client.patch(
            f"/v1/conversations/{conversation['id']}",
            json={"lorebook_ids": [conversation_book["id"]]},
        )
    )
    assert attached["lorebook_ids"] == [conversation_book["id"]]
    shown = await ok(await user.client.get(f"/v1/conversations/{conversation['id']}"))
    assert shown["lorebook_ids"] == [conversation_book["id"]]
    listed = await ok(await user.client.get("/v1/conversations"))
    assert listed["items"][0]["lorebook_ids"] == [conversation_book["id"]]

    # Someone else can neither attach to it nor attach a book they cannot see.
    stranger: User = await new_user()
    refused = await stranger.client.patch(
        f"/v1/conversations/{conversation['id']}", json={"lorebook_ids": []}
    )
    assert refused.status_code == 404
    hidden = await book(stranger, "Hidden", "x")
    refused = await user.client.patch(
        f"/v1/conversations/{conversation['id']}", json={"lorebook_ids": [hidden["id"]]}
    )
    assert refused.status_code == 404

    async with tap("chat.turns") as turns:
        await send_streaming(user, conversation["id"], "Is the lamp lit?")
        seen = await turns.wait_for(
            lambda envs: any(e.data.get("conversation_id") == conversation["id"] for e in envs)
        )
    envelope = next(e for e in seen if e.data.get("conversation_id") == conversation["id"])
    command = RequestChatTurn.model_validate(envelope.data)
    card = json.loads(KEEPER)["data"]

    character = command.character
    assert character.nickname == "Maren"
    assert character.post_history_instructions == card["post_history_instructions"]
    assert character.depth_prompt is not None
    assert (character.depth_prompt.prompt, character.depth_prompt.depth) == (
        card["extensions"]["depth_prompt"]["prompt"],
        4,
    )
    own = character.lorebook
    assert own is not None and own.source == "character" and own.name == "Gull Rock"
    assert (own.scan_depth, own.token_budget, own.recursive_scanning) == (6, 800, True)
    lens, wreck, fog, constant = own.entries
    assert lens.match_whole_words and lens.probability == 100 and lens.secondary_keys == []
    assert wreck.secondary_keys == ["Alba", "brother"] and wreck.content.startswith("@@depth 2")
    assert (fog.position, fog.depth, fog.role, fog.use_regex) == ("at_depth", 3, "user", True)
    assert constant.constant

    assert [(b.name, b.source) for b in command.lorebooks] == [
        ("Persona book", "persona"),
        ("Conversation book", "conversation"),
    ]
    assert command.lorebooks[1].entries[0].keys == ["storm"]
    assert command.scene is not None
    assert command.scene.id == uuid.UUID(scene["id"])
    assert (command.scene.setting, command.scene.atmosphere, command.scene.starters) == (
        "The lamp room at night.",
        "Cold, tense, salt in the air.",
        ["The glass rattles."],
    )
