"""A scene painted in the chat appears live, is kept, and shows in the library and dashboard."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect

from tests.browser.conftest import Person, as_person, assert_every_control_is_named, register
from tests.e2e.conftest import Stack


async def test_a_scene_appears_without_a_reload_and_kept_it_is_in_the_library(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config(image_job_ms=1500)
    await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await page.get_by_label("Message", exact=True).fill("Show me the bridge.")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(2)
    await expect(page.get_by_role("button", name="Generate scene")).to_be_visible()

    await page.get_by_role("button", name="Generate scene").click()
    dialog = page.get_by_role("dialog", name="Generate a scene")
    await expect(dialog).to_be_visible()
    await assert_every_control_is_named(page)
    await dialog.get_by_label("Prompt").fill("the captain on a stormy bridge")
    await dialog.get_by_role("button", name="Generate").click()
    await expect(dialog).to_be_hidden()
    reply = page.get_by_role("listitem", name="Captain Mira Vale").last
    scene = reply.get_by_role("figure", name="Scene")  # inline, under the reply it illustrates
    await expect(scene.get_by_role("img")).to_be_visible()
    assert await scene.get_by_role("img").evaluate("img => img.naturalWidth") > 0

    await scene.get_by_role("button", name="Keep").click()
    await expect(scene).to_contain_text("Kept in your library")

    await page.get_by_role("link", name="Library", exact=True).first.click()
    kept = page.get_by_role("list", name="Kept images").get_by_role("img")
    await expect(kept).to_have_count(1)
    await assert_every_control_is_named(page)

    await page.get_by_role("link", name="Home").click()
    thumbnail = page.get_by_role("img", name="Last scene with Captain Mira Vale")
    await expect(thumbnail).to_be_visible()
    await assert_every_control_is_named(page)


async def test_a_quick_modification_sits_under_the_tapped_image_and_a_pending_scene_cancels(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config(image_job_ms=300)
    await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await page.get_by_label("Message", exact=True).fill("Show me the bridge.")
    await page.get_by_role("button", name="Send").click()
    replies = page.get_by_role("listitem", name="Captain Mira Vale")
    await expect(replies).to_have_count(2)
    await page.get_by_role("button", name="Generate scene").click()
    dialog = page.get_by_role("dialog", name="Generate a scene")
    await dialog.get_by_label("Prompt").fill("the captain on the bridge")
    await dialog.get_by_role("button", name="Generate").click()
    illustrated = replies.nth(1)
    await expect(illustrated.get_by_role("figure", name="Scene").get_by_role("img")).to_be_visible()

    await page.get_by_label("Message", exact=True).fill("And the engine room?")
    await page.get_by_role("button", name="Send").click()
    await expect(replies).to_have_count(3)
    await expect(page.get_by_role("button", name="Generate scene")).to_be_visible()
    await illustrated.get_by_role("button", name="Modify this scene").click()
    quick = page.get_by_role("dialog", name="Modify the scene")
    await quick.get_by_label("Preset").select_option("Add rain")
    await quick.get_by_role("button", name="Generate").click()
    await expect(quick).to_be_hidden()
    await expect(illustrated.get_by_role("figure", name="Scene").get_by_role("img")).to_have_count(
        2
    )
    await expect(replies.last.get_by_role("figure", name="Scene")).to_have_count(0)

    await web_stack.standin_config(image_job_ms=60_000)
    await page.get_by_role("button", name="Generate scene").click()
    await dialog.get_by_label("New image").check()
    await dialog.get_by_role("button", name="Generate").click()
    pending = replies.last.get_by_role("figure", name="Scene")
    await expect(pending.get_by_role("progressbar", name="Scene progress")).to_be_visible()
    await assert_every_control_is_named(page)
    await pending.get_by_role("button", name="Cancel the scene").click()
    await expect(pending).to_contain_text("The scene was cancelled")
    await web_stack.standin_config()


async def kept_scenes(stack: Stack, person: Person, titles: list[str]) -> None:
    """A chat with Mira for each title, each with one scene kept in the library."""
    async with as_person(stack, person) as client:
        characters = (await client.get("/v1/characters", params={"scope": "public"})).json()
        mira = next(c for c in characters["items"] if c["name"] == "Captain Mira Vale")
        for title in titles:
            chat = await client.post(
                "/v1/conversations", json={"character_id": mira["id"], "title": title}
            )
            scene = await client.post(
                f"/v1/conversations/{chat.json()['id']}/scenes",
                json={"mode": "t2i", "prompt": f"a picture of {title}", "keep": True},
            )
            assert scene.status_code == 202, scene.text
        for _ in range(200):
            if len((await client.get("/v1/library")).json()["items"]) == len(titles):
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the kept scenes did not reach the library")


async def test_the_library_filters_by_conversation_and_deletes_after_confirming(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config(image_job_ms=100)
    person = await register(page)
    await kept_scenes(web_stack, person, ["First voyage", "Second voyage"])

    await page.get_by_role("link", name="Library").first.click()
    kept = page.get_by_role("list", name="Kept images").get_by_role("listitem")
    await expect(kept).to_have_count(2)
    await page.get_by_label("Conversation").select_option(label="Captain Mira Vale: First voyage")
    await expect(kept).to_have_count(1)

    await kept.first.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete this image?")
    await assert_every_control_is_named(page)
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_be_hidden()
    await expect(kept).to_have_count(1)
    await kept.first.get_by_role("button", name="Delete").click()
    await confirm.get_by_role("button", name="Delete").click()
    await expect(kept).to_have_count(0)
    await expect(page.get_by_text("Nothing kept yet")).to_be_visible()

    await page.get_by_label("Conversation").select_option(label="All conversations")
    await expect(kept).to_have_count(1)
