"""Impersonate writes a suggestion into the message box (stored nowhere); a chat exported as
SillyTavern JSONL is imported back on the dashboard as a new chat."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.async_api import Page, expect

from tests.browser.conftest import assert_every_control_is_named, register
from tests.browser.test_chat import stored_messages
from tests.e2e.conftest import Stack


async def test_impersonate_then_export_and_import_the_chat(
    page: Page, web_stack: Stack, tmp_path: Path
) -> None:
    await web_stack.standin_config()
    person = await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await page.get_by_label("Message", exact=True).fill("Where are we headed?")
    await page.get_by_role("button", name="Send").click()
    mira = page.get_by_role("listitem", name="Captain Mira Vale")
    await expect(mira).to_have_count(2)
    await expect(page.get_by_role("button", name="Regenerate")).to_be_visible()
    await assert_every_control_is_named(page)

    await page.get_by_role("button", name="Impersonate").click()
    box = page.get_by_label("Message", exact=True)
    await expect(box).not_to_have_value("")
    await expect(page.get_by_role("button", name="Impersonate")).to_be_enabled()
    assert len(await stored_messages(web_stack, person.email, person.password, page)) == 3

    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="Export chat").click()
    exported = tmp_path / "chat.jsonl"
    await (await downloading.value).save_as(exported)
    lines = [json.loads(line) for line in exported.read_text().splitlines() if line.strip()]
    assert [line["mes"] for line in lines[1:] if line["is_user"]] == ["Where are we headed?"]

    await page.get_by_role("link", name="Home").click()
    await page.get_by_text("Import a SillyTavern chat").click()
    await page.get_by_label("Character of the imported chat").select_option(
        label="Captain Mira Vale"
    )
    await assert_every_control_is_named(page)
    await page.get_by_label("Choose chat file (.jsonl)").set_input_files(str(exported))
    await expect(page.get_by_role("listitem", name="You")).to_contain_text("Where are we headed?")
    await expect(mira).to_have_count(2)
    assert "/chat/" in page.url
    assert len(await stored_messages(web_stack, person.email, person.password, page)) == 3
