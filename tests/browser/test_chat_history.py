"""A long chat pages back: "Load earlier messages" brings older ones, and their scenes with them."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.conftest import as_person, register
from tests.browser.test_chat import stored_conversation
from tests.e2e.conftest import Stack

LINES = 130


def sillytavern_chat(lines: int) -> bytes:
    """A SillyTavern JSONL chat of `lines` messages, the character first, then turn about."""
    header = {"user_name": "You", "character_name": "Captain Mira Vale", "chat_metadata": {}}
    rows = [
        {
            "name": "You" if i % 2 else "Captain Mira Vale",
            "is_user": bool(i % 2),
            "mes": f"Line {i:03d}",
            "send_date": 1_700_000_000_000 + i * 60_000,
        }
        for i in range(lines)
    ]
    return "\n".join(json.dumps(r) for r in [header, *rows]).encode()


async def test_earlier_messages_load_on_request_with_their_scenes_in_place(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config(image_job_ms=500)
    person = await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(1)
    first_chat = await stored_conversation(web_stack, person.email, person.password, page)

    async with as_person(web_stack, person) as client:
        imported = await client.post(
            "/v1/conversations/import",
            data={"character_id": first_chat["character_id"]},
            files={"file": ("long.jsonl", sillytavern_chat(LINES), "application/jsonl")},
        )
        assert imported.status_code == 201, imported.text
        conversation_id = imported.json()["id"]
        oldest: Any = (
            await client.get(f"/v1/conversations/{conversation_id}/messages?limit=10")
        ).json()
        newest_page = await client.get(f"/v1/conversations/{conversation_id}/messages?limit=100")
        first_shown = newest_page.json()["items"][0]["content"]
        assert first_shown == f"Line {LINES - 100:03d}"
        early = await client.get(
            f"/v1/conversations/{conversation_id}/messages",
            params={"before": newest_page.json()["items"][0]["id"], "limit": 100},
        )
        fourth = next(m for m in early.json()["items"] if m["content"] == "Line 004")
        scene = await client.post(
            f"/v1/conversations/{conversation_id}/scenes",
            json={"mode": "t2i", "prompt": "the old harbour", "message_id": fourth["id"]},
        )
        assert scene.status_code == 202, scene.text
    assert oldest["items"], "the imported chat has messages"

    await page.goto(f"/#/chat/{conversation_id}")
    bubbles = page.get_by_role("list", name="Messages").locator(".bubble")
    await expect(bubbles).to_have_count(100)
    await expect(bubbles.first.locator(".text")).to_have_text(first_shown)
    await expect(bubbles.last.locator(".text")).to_have_text(f"Line {LINES - 1:03d}")
    # The scene of an earlier message is not piled at the bottom.
    await expect(page.get_by_role("figure", name="Scene")).to_have_count(0)

    await page.get_by_role("button", name="Load earlier messages").click()
    await expect(bubbles).to_have_count(LINES)
    await expect(page.get_by_role("button", name="Load earlier messages")).to_be_hidden()
    await expect(bubbles.first.locator(".text")).to_have_text("Line 000")
    line_four = bubbles.filter(has_text="Line 004")
    await expect(line_four.get_by_role("figure", name="Scene")).to_have_count(1)
    await expect(page.get_by_role("figure", name="Scene")).to_have_count(1)
    # Loading earlier messages keeps the reader where they were, not at the bottom, also once
    # the early scene has finished painting.
    await expect(line_four.get_by_role("figure", name="Scene").get_by_role("img")).to_be_visible()
    await expect(bubbles.nth(LINES - 100)).to_be_in_viewport()
    await expect(bubbles.last).not_to_be_in_viewport()
