"""Every dialog works with the keyboard: focus moves in, stays in, Escape closes, focus returns."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import register


async def focus_is_inside(page: Page, dialog: Locator) -> bool:
    handle = await dialog.element_handle()
    inside: bool = await page.evaluate(
        "dialog => dialog.contains(document.activeElement) && document.activeElement !== dialog",
        handle,
    )
    return inside


async def open_tab_around_and_escape(page: Page, opener: Locator, title: str) -> None:
    await opener.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=title)
    await expect(dialog).to_be_visible()
    assert await focus_is_inside(page, dialog), f"{title}: focus did not move in"
    for _ in range(25):
        await page.keyboard.press("Tab")
        assert await focus_is_inside(page, dialog), f"{title}: Tab left the dialog"
    for _ in range(3):
        await page.keyboard.press("Shift+Tab")
        assert await focus_is_inside(page, dialog), f"{title}: Shift+Tab left the dialog"
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(opener).to_be_focused()


async def test_dialogs_open_by_keyboard_keep_focus_and_close_on_escape(page: Page) -> None:
    await register(page)
    await open_tab_around_and_escape(
        page,
        page.get_by_role("button", name="Set the scene with Captain Mira Vale"),
        "Set the scene with Captain Mira Vale",
    )

    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(1)
    header = page.locator(".chat-header")
    for opener, title in [
        (header.get_by_role("button", name="About Captain Mira Vale"), "Captain Mira Vale"),
        (header.get_by_role("button", name="Settings"), "Quick settings"),
        (header.get_by_role("button", name="Memory"), "Memory"),
        (header.get_by_role("button", name="Lorebooks"), "Lorebooks"),
        (header.get_by_role("button", name="Prompt preview"), "What the next turn will send"),
        (page.get_by_role("button", name="Generate scene"), "Generate a scene"),
    ]:
        await open_tab_around_and_escape(page, opener, title)


async def test_escape_closes_a_dialog_after_its_busy_button_dropped_focus(page: Page) -> None:
    await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(1)
    await page.get_by_role("button", name="Memory").click()
    memory = page.get_by_role("dialog", name="Memory")
    await memory.get_by_label("What to remember").fill("The stowaway hums sea shanties.")
    await memory.get_by_role("button", name="Remember").click()  # disabled while it saves
    await expect(memory.get_by_role("button", name="Forget")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(memory).to_be_hidden()
