"""A real card's lorebook works end to end: SillyTavern's Seraphina, imported as a PNG, brings
her Shadowfang entry into the provider request when the beasts are named in the recent messages
(her greeting already mentions them); prompt-preview shows which key activated it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Stack, User
from tests.e2e.test_chat_turns import send_streaming, start_conversation

SERAPHINA = (Path(__file__).parents[1] / "fixtures" / "cards" / "seraphina_v2.png").read_bytes()
SHADOWFANG_LORE = "What are Shadowfangs?"


def provider_prompts(requests: list[dict[str, Any]], marker: str) -> list[str]:
    """The whole prompt text of each provider request whose last message contains `marker`."""
    prompts = []
    for record in requests:
        messages = record["body"].get("messages") or [{}]
        if marker in str(messages[-1].get("content", "")):
            prompts.append("\n".join(str(m.get("content", "")) for m in messages))
    return prompts


async def test_a_cards_lorebook_entry_reaches_the_prompt_when_its_key_is_named(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config()
    user: User = await new_user()
    imported = await user.client.post(
        "/v1/characters/import", files={"file": ("Seraphina.png", SERAPHINA, "image/png")}
    )
    assert imported.status_code == 201, imported.text
    conversation = await start_conversation(user, uuid.UUID(imported.json()["id"]))

    named = f"Are the monsters near? {uuid.uuid4().hex[:6]}"
    preview = await user.client.get(
        f"/v1/conversations/{conversation['id']}/prompt-preview", params={"content": named}
    )
    assert preview.status_code == 200, preview.text
    activated = preview.json()["lorebook_entries"]
    by_key = {entry["key"] for entry in activated if entry["reason"] == "key"}
    assert by_key & {"beast", "beasts", "monster", "monsters"}, activated
    assert all(entry["book_name"] == "Eldoria" for entry in activated)

    seen = await send_streaming(user, conversation["id"], named)
    assert seen[-1].name == "turn.completed"

    requests = await stack.standin_requests()
    with_lore = provider_prompts(requests, named)
    assert with_lore and SHADOWFANG_LORE in with_lore[-1]
