"""Writing a character in the editor: its portrait shows, its card exports, and it can be
chatted with."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from PIL import Image
from playwright.async_api import Page, expect

from tests.browser.conftest import as_person, assert_every_control_is_named, register
from tests.e2e.conftest import Stack


async def test_a_new_character_gets_a_portrait_exports_its_card_and_greets(
    page: Page, web_stack: Stack, tmp_path: Path
) -> None:
    await web_stack.standin_config()
    portrait = tmp_path / "portrait.png"
    buffer = io.BytesIO()
    Image.new("RGB", (48, 64), (200, 120, 40)).save(buffer, format="PNG")
    portrait.write_bytes(buffer.getvalue())

    await register(page)
    await page.get_by_role("link", name="New character").click()
    await page.get_by_label("Name").fill("Wren Ashdown")
    await page.get_by_label("Description").fill("A cartographer of places that move.")
    await page.get_by_label("First message").fill("Hold still, I'm drawing you into the map.")
    await page.get_by_label("Tags (comma separated)").fill("fantasy, maps")
    await page.get_by_role("button", name="Save character").click()
    await expect(page.get_by_role("heading", name="Edit Wren Ashdown")).to_be_visible()

    await page.get_by_label("Upload portrait").set_input_files(str(portrait))
    shown = page.get_by_role("img", name="Portrait of Wren Ashdown")
    await expect(shown).to_be_visible()
    assert await shown.evaluate("img => img.naturalWidth") == 48
    await assert_every_control_is_named(page)

    await page.get_by_label("Description").fill("A cartographer of places that wander.")
    await page.get_by_role("button", name="Save character").click()
    await expect(page.get_by_role("status")).to_have_text("Saved")

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export JSON").click()
    downloaded = Path(await (await download_info.value).path())
    exported = json.loads(await asyncio.to_thread(downloaded.read_text))
    assert exported["data"]["name"] == "Wren Ashdown"
    assert exported["data"]["description"] == "A cartographer of places that wander."

    await page.get_by_role("link", name="Home").click()
    await expect(page.get_by_role("img", name="Portrait of Wren Ashdown")).to_be_visible()
    await page.get_by_role("button", name="Chat with Wren Ashdown").click()
    greeting = page.get_by_role("listitem", name="Wren Ashdown")
    await expect(greeting.first).to_contain_text("drawing you into the map")


async def test_a_characters_default_settings_are_saved_and_shown_again(
    page: Page, web_stack: Stack
) -> None:
    person = await register(page)
    await page.get_by_role("link", name="New character").click()
    await page.get_by_label("Name").fill("Tamsin Reed")
    defaults = page.get_by_role("group", name="Default settings of its chats")
    await defaults.get_by_label("Temperature").fill("0.4")
    await defaults.get_by_label("Max tokens").fill("300")
    await defaults.get_by_label("Author's note", exact=True).fill("Tamsin answers in rhyme.")
    await page.get_by_role("button", name="Save character").click()
    await expect(page.get_by_role("heading", name="Edit Tamsin Reed")).to_be_visible()
    await assert_every_control_is_named(page)

    await defaults.get_by_label("Temperature").fill("0.9")
    await defaults.get_by_label("Max tokens").fill("")
    await page.get_by_role("button", name="Save character").click()
    await expect(page.get_by_role("status")).to_have_text("Saved")
    character_id = page.url.rsplit("/", 1)[1]
    async with as_person(web_stack, person) as client:
        stored = (await client.get(f"/v1/characters/{character_id}")).json()["settings"]
    assert stored["temperature"] == 0.9
    assert stored.get("max_tokens") is None
    assert stored["author_note"] == "Tamsin answers in rhyme."

    await page.get_by_role("link", name="Home").click()
    await page.get_by_role("link", name="Edit Tamsin Reed").click()
    await expect(defaults.get_by_label("Temperature")).to_have_value("0.9")
    await expect(defaults.get_by_label("Author's note", exact=True)).to_have_value(
        "Tamsin answers in rhyme."
    )
