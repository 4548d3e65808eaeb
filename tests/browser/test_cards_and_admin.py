"""Importing a character card and chatting with it; an admin sees usage."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.browser.conftest import assert_every_control_is_named, register, sign_in
from tests.e2e.conftest import Stack

CARD = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Orin the Lamplighter",
        "description": "An old lamplighter who knows every alley of the harbour town.",
        "personality": "patient, wry",
        "scenario": "Dusk on the harbour wall.",
        "first_mes": "*Orin lifts his pole to the last lamp.* Evening, traveller.",
        "mes_example": "",
        "tags": ["fantasy", "cozy"],
    },
}


async def test_an_imported_card_can_be_chatted_with(
    page: Page, web_stack: Stack, tmp_path: Path
) -> None:
    await web_stack.standin_config()
    card = tmp_path / "orin.json"
    card.write_text(json.dumps(CARD))
    await register(page)
    await page.get_by_label("Import card").set_input_files(str(card))
    greeting = page.get_by_role("listitem", name="Orin the Lamplighter")
    await expect(greeting.first).to_contain_text("Evening, traveller.")
    await page.get_by_label("Message", exact=True).fill("Which way to the inn?")
    await page.get_by_role("button", name="Send").click()
    await expect(greeting).to_have_count(2)
    await expect(page.get_by_role("button", name="Regenerate")).to_be_visible()

    await page.get_by_role("link", name="Home").click()
    await page.get_by_label("Search characters").fill("cozy")
    await expect(page.get_by_role("button", name="Chat with Orin the Lamplighter")).to_be_visible()
    await expect(page.get_by_role("button", name="Chat with Captain Mira Vale")).to_be_hidden()


async def test_an_admin_sees_usage(page: Page, web_stack: Stack) -> None:
    await web_stack.standin_config()
    await page.goto("/")
    await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await page.get_by_label("Message", exact=True).fill("Hello there.")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("button", name="Regenerate")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()

    await page.goto("/#/admin")
    await sign_in(page, "admin@roleplay.local", os.environ["GATEWAY_ADMIN_PASSWORD"])
    await expect(page.get_by_role("heading", name="Usage")).to_be_visible()
    rows = page.get_by_role("table", name="Per model").locator("tbody tr")
    for _ in range(20):  # usage is recorded from the event stream, moments after the reply
        if await rows.count():
            break
        await page.get_by_role("button", name="Refresh usage").click()
        await page.wait_for_timeout(500)
    await expect(rows.first).to_contain_text("standin")
    hours = page.get_by_role("list", name="Usage per hour").get_by_role("listitem")
    await expect(hours.first).to_contain_text(
        re.compile(r"\d+ requests · \d+ in / \d+ out tokens · cost \d")
    )
    await assert_every_control_is_named(page)
    for panel in ("Workers", "Providers", "Models", "Prompt templates"):
        await expect(page.get_by_role("heading", name=panel, exact=True)).to_be_visible()
    await expect(page.get_by_role("checkbox", name="active").first).to_be_checked()
    await expect(page.get_by_role("link", name="Admin")).to_have_attribute("aria-current", "page")
