"""`GET /v1/conversations/{id}/prompt-preview` is what the next turn sends."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Stack, User
from tests.e2e.test_chat_turns import send_streaming, start_conversation


async def test_the_preview_is_what_the_next_turn_sends(stack: Stack, new_user: Any) -> None:
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    path = f"/v1/conversations/{conversation['id']}/prompt-preview"
    key = {"Idempotency-Key": "preview-then-send-1"}
    previewed = await user.client.get(path, params={"content": "Who are you?"}, headers=key)
    assert previewed.status_code == 200, previewed.text
    preview = previewed.json()
    assert [b["kind"] for b in preview["blocks"]][:1] == ["system"]
    assert preview["blocks"][-1] == {
        "kind": "history",
        "source": "message",
        "role": "user",
        "text": "Who are you?",
        "tokens": preview["blocks"][-1]["tokens"],
    }
    assert 0 < preview["budget"]["used"] <= preview["budget"]["available"]
    assert preview["lorebook_entries"] == []

    seen = await send_streaming(user, conversation["id"], "Who are you?", client_message_id="m1")
    assert seen[-1].name == "turn.completed"
    sent = [
        r["body"]["messages"]
        for r in await stack.standin_requests()
        if r["body"].get("messages", [{}])[-1].get("content") == "Who are you?"
    ]
    assert sent[-1] == preview["messages"]

    assert (await user.client.get(path, params={"kind": "send"})).status_code == 422
    other: User = await new_user()
    assert (await other.client.get(path)).status_code == 404
    after = await user.client.get(path)
    assert after.status_code == 200
    assert after.json()["messages"][-2]["content"] == seen[-1].data["message"]["content"]


async def test_the_longest_previewable_draft_reaches_the_api_and_a_longer_one_is_refused(
    stack: Stack, new_user: Any
) -> None:
    """Percent-encoded in the query string, the longest draft (every character 4 bytes of
    UTF-8) still fits the server's request head, so the API answers, never the HTTP layer."""
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    path = f"/v1/conversations/{conversation['id']}/prompt-preview"
    longest = await user.client.get(path, params={"content": "\U0001f600" * 5_000})
    assert longest.status_code == 200, longest.text[:200]
    longer = await user.client.get(path, params={"content": "a" * 5_001})
    assert longer.status_code == 422
    assert longer.json()["error"]["code"] == "validation_error"
