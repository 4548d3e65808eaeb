"""Chatting in the browser: a streamed reply that survives a reload, regenerate and swipes."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import assert_every_control_is_named, register, sign_in
from tests.e2e.conftest import Stack


async def read_as(stack: Stack, email: str, password: str, path: str) -> Any:
    """What the API answers the person at `path` (a GET)."""
    async with httpx.AsyncClient(base_url=stack.gateway) as client:
        login = await client.post("/v1/auth/login", json={"email": email, "password": password})
        token = login.json()["access_token"]
        answer = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        answer.raise_for_status()
    return answer.json()


async def stored_messages(stack: Stack, email: str, password: str, page: Page) -> list[Any]:
    conversation_id = page.url.rsplit("/", 1)[1]
    page_of = await read_as(stack, email, password, f"/v1/conversations/{conversation_id}/messages")
    items: list[Any] = page_of["items"]
    return items


async def stored_conversation(stack: Stack, email: str, password: str, page: Page) -> Any:
    conversation_id = page.url.rsplit("/", 1)[1]
    return await read_as(stack, email, password, f"/v1/conversations/{conversation_id}")


async def test_a_reply_streams_and_is_whole_after_a_reload_mid_stream(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config(tokens_per_second=12, output_tokens=48)
    person = await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    greeting = page.get_by_role("listitem", name="Captain Mira Vale")
    await expect(greeting.first).to_contain_text("The deck lurches")
    await expect(greeting.first.get_by_label("Reply number")).to_have_text("1/3")

    await page.get_by_label("Message", exact=True).fill("Who are you?")
    await page.get_by_role("button", name="Send").click()
    replying = page.get_by_role("listitem", name="Captain Mira Vale is replying")
    await expect(replying).to_be_visible()
    await expect(page.get_by_role("button", name="Stop")).to_be_visible()
    await expect(replying).not_to_have_text("…")  # some text has streamed in

    await page.reload()
    await sign_in(page, person.email, "not the password")
    await expect(page.get_by_role("alert")).not_to_be_empty()  # said in words
    await sign_in(page, person.email, person.password)
    mine = page.get_by_role("listitem", name="You")
    await expect(mine.locator(".text")).to_have_text("Who are you?")
    await expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=30_000)
    stored = await stored_messages(web_stack, person.email, person.password, page)
    assert [m["sender"] for m in stored] == ["assistant", "user", "assistant"]
    replies = page.get_by_role("listitem", name="Captain Mira Vale")
    await expect(replies).to_have_count(2)
    await expect(replies.last.locator(".text")).to_have_text(stored[2]["content"])


async def test_regenerate_then_swipe_back_selects_the_first_reply(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config()
    person = await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await page.get_by_label("Message", exact=True).fill("Tell me about the ship.")
    await page.keyboard.press("Enter")
    replies = page.get_by_role("listitem", name="Captain Mira Vale")
    await expect(replies).to_have_count(2)
    await expect(page.get_by_role("button", name="Regenerate")).to_be_visible()
    first = await replies.last.locator(".text").inner_text()

    await page.get_by_role("button", name="Regenerate").click()
    await expect(replies.last.get_by_label("Reply number")).to_have_text("2/2")
    await replies.last.get_by_role("button", name="Previous reply").click()
    await expect(replies.last.get_by_label("Reply number")).to_have_text("1/2")
    await expect(replies.last.locator(".text")).to_have_text(first)
    await assert_every_control_is_named(page)
    stored = await stored_messages(web_stack, person.email, person.password, page)
    assert stored[-1]["selected_index"] == 0 and stored[-1]["content"] == first

    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("button", name="Send")).to_be_visible()

    await page.get_by_role("button", name="Settings").click()
    settings = page.get_by_role("dialog", name="Quick settings")
    models = settings.get_by_label("Model")
    await expect(models.locator("option")).not_to_have_count(1)  # the models beyond the default
    await settings.get_by_role("button", name="Close").click()
    await expect(settings).to_be_hidden()


async def test_stop_ends_the_stream_and_the_finished_reply_shows_up_by_itself(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config(tokens_per_second=10, output_tokens=40)
    await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await page.get_by_label("Message", exact=True).fill("Tell me a long story.")
    await page.get_by_role("button", name="Send").click()
    replying = page.get_by_role("listitem", name="Captain Mira Vale is replying")
    await expect(replying).not_to_have_text("…")
    await page.get_by_role("button", name="Stop").click()
    await expect(replying).to_be_hidden()
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
    # The server still finishes the reply; the conversation's event stream brings it in.
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(2)
