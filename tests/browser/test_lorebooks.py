"""Lorebooks in the browser: write a book, attach it to a chat, and see a key named in a message
bring its entry into the prompt preview."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from playwright.async_api import Page, expect

from tests.browser.conftest import assert_every_control_is_named, register
from tests.e2e.conftest import Stack


async def write_a_lorebook(page: Page) -> None:
    await page.get_by_role("link", name="Lorebooks").click()
    await page.get_by_label("New lorebook name").fill("Harbour lore")
    await page.get_by_role("button", name="Create lorebook").click()
    await expect(page.get_by_role("heading", name="Lorebook: Harbour lore")).to_be_visible()
    await page.get_by_role("button", name="Add entry").click()
    await page.get_by_label("Keys of entry 1 (comma separated)").fill("lighthouse, beacon")
    await page.get_by_label("Content of entry 1").fill(
        "The lighthouse keeper is Mira's sister, Tova."
    )
    await page.get_by_label("Insertion order of entry 1").fill("50")
    await page.get_by_label("Position of entry 1").select_option("after_char")
    await page.get_by_role("button", name="Save lorebook").click()
    await expect(page.get_by_role("status")).to_have_text("Saved")
    await assert_every_control_is_named(page)


async def test_a_key_named_in_a_message_shows_its_entry_in_the_prompt_preview(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config()
    await register(page)
    await write_a_lorebook(page)

    await page.get_by_role("link", name="Home").click()
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await expect(page.get_by_role("listitem", name="Captain Mira Vale").first).to_be_visible()

    await page.get_by_role("button", name="Lorebooks").click()
    lore = page.get_by_role("dialog", name="Lorebooks")
    in_use = lore.get_by_role("list", name="Lorebooks in use")
    await expect(in_use).not_to_contain_text("Harbour lore")
    attach = lore.get_by_role("checkbox", name="Harbour lore")
    await attach.click()  # checked once the conversation has it
    await expect(attach).to_be_checked()
    await expect(in_use).to_contain_text("Harbour lore")
    await expect(in_use).to_contain_text("attached to this chat")
    await assert_every_control_is_named(page)
    await lore.get_by_role("button", name="Close").click()

    await page.get_by_role("button", name="Prompt preview").click()
    preview = page.get_by_role("dialog", name="What the next turn will send")
    await expect(preview.get_by_text("None: no key was named.")).to_be_visible()
    await preview.get_by_role("button", name="Close").click()

    # the message being written is what the next turn sends
    await page.get_by_label("Message", exact=True).fill("Is that a beacon on the cliff?")
    await page.get_by_role("button", name="Prompt preview").click()
    activated = preview.get_by_role("list", name="Activated lorebook entries")
    await expect(activated).to_contain_text("key “beacon”")
    await preview.get_by_role("button", name="Close").click()

    await page.get_by_label("Message", exact=True).fill("Who keeps the lighthouse on the cape?")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=30_000)

    await page.get_by_role("button", name="Prompt preview").click()
    await expect(preview).to_contain_text("this is a Continue")
    await expect(activated).to_contain_text("Harbour lore")
    await expect(activated).to_contain_text("entry “lighthouse, beacon”: key “lighthouse”")
    await expect(preview.get_by_label("Budget used")).to_contain_text("tokens used")
    blocks = preview.get_by_role("list", name="Prompt blocks")
    lore_block = blocks.get_by_role("listitem").filter(has_text="lore_after")
    await expect(lore_block).to_have_count(1)
    await lore_block.get_by_text("lore_after").click()
    await expect(lore_block).to_contain_text("Mira's sister, Tova")
    await assert_every_control_is_named(page)

    await preview.get_by_role("button", name="Close").click()

    await page.get_by_role("button", name="Lorebooks").click()
    await attach.click()  # detached
    await expect(attach).not_to_be_checked()
    await expect(in_use).not_to_contain_text("Harbour lore")


async def test_a_lorebook_exports_and_imports_back(
    page: Page, web_stack: Stack, tmp_path: Path
) -> None:
    await web_stack.standin_config()
    await register(page)
    await write_a_lorebook(page)

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export SillyTavern").click()
    downloaded = Path(await (await download_info.value).path())
    world = json.loads(await asyncio.to_thread(downloaded.read_text))
    entries = list(world["entries"].values())
    assert entries[0]["key"] == ["lighthouse", "beacon"]
    assert "Tova" in entries[0]["content"]

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export lorebook v3").click()
    downloaded = Path(await (await download_info.value).path())
    book = json.loads(await asyncio.to_thread(downloaded.read_text))
    assert book["data"]["entries"][0]["keys"] == ["lighthouse", "beacon"]
    assert book["data"]["entries"][0]["insertion_order"] == 50

    (tmp_path / "world.json").write_text(json.dumps(world))
    await page.get_by_role("link", name="All lorebooks").click()
    await page.get_by_label("Import a lorebook").set_input_files(str(tmp_path / "world.json"))
    await expect(
        page.get_by_role("list", name="Your lorebooks").get_by_role("listitem")
    ).to_have_count(2)
