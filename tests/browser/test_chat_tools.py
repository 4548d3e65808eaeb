"""Chat tools in the browser: quick settings with the author's note, and fork from a message."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import as_person, assert_every_control_is_named, register
from tests.browser.test_chat import read_as, stored_conversation, stored_messages
from tests.e2e.conftest import Stack


async def test_the_authors_note_and_sampler_settings_are_saved_and_shown_again(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config()
    person = await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(1)

    await page.get_by_role("button", name="Settings").click()
    settings = page.get_by_role("dialog", name="Quick settings")
    await settings.get_by_label("Author's note", exact=True).fill("Mira speaks in short sentences.")
    await settings.get_by_label("Author's note depth").fill("2")
    await settings.get_by_label("Temperature").fill("0.7")
    await settings.get_by_label("Stop sequences").fill("###\nEND")
    await assert_every_control_is_named(page)
    await settings.get_by_role("button", name="Save settings").click()
    await expect(settings.get_by_role("status")).to_have_text("Saved")
    await settings.get_by_role("button", name="Close").click()
    await expect(settings).to_be_hidden()

    await page.get_by_role("button", name="Settings").click()
    await expect(settings.get_by_label("Author's note", exact=True)).to_have_value(
        "Mira speaks in short sentences."
    )
    await expect(settings.get_by_label("Author's note depth")).to_have_value("2")
    await expect(settings.get_by_label("Temperature")).to_have_value("0.7")
    stored = await stored_conversation(web_stack, person.email, person.password, page)
    assert stored["settings"]["author_note"] == "Mira speaks in short sentences."
    assert stored["settings"]["author_note_depth"] == 2
    assert stored["settings"]["stop"] == ["###", "END"]

    await settings.get_by_label("Temperature").fill("")
    await settings.get_by_role("button", name="Save settings").click()
    await expect(settings.get_by_role("status")).to_have_text("Saved")
    stored = await stored_conversation(web_stack, person.email, person.password, page)
    assert stored["settings"].get("temperature") is None
    assert stored["settings"]["author_note"] == "Mira speaks in short sentences."


async def test_fork_from_a_message_opens_a_new_chat_holding_the_history_up_to_it(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config()
    await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await page.get_by_label("Message", exact=True).fill("Tell me about the ship.")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(2)
    await expect(page.get_by_role("button", name="Regenerate")).to_be_visible()
    original = page.url

    mine = page.get_by_role("listitem", name="You")
    await mine.get_by_role("button", name="Fork from here").click()
    await expect(page).not_to_have_url(original)
    await expect(page.get_by_role("listitem", name="You")).to_have_count(1)
    await expect(page.get_by_role("listitem", name="You").locator(".text")).to_have_text(
        "Tell me about the ship."
    )
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(1)
    await assert_every_control_is_named(page)

    await page.goto(original)
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(2)


async def test_a_memory_is_added_edited_pinned_and_forgotten_in_the_memory_panel(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config()
    person = await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(1)

    await page.get_by_role("button", name="Memory").click()
    panel = page.get_by_role("dialog", name="Memory")
    await expect(panel.get_by_role("heading", name="The story so far")).to_be_visible()
    await panel.get_by_label("Remember for").select_option("character")
    await panel.get_by_label("What to remember").fill("The stowaway fears storms.")
    await panel.get_by_role("button", name="Remember").click()
    about_you = panel.get_by_role("list", name="Captain Mira Vale about you")
    first = about_you.get_by_role("listitem", name="The stowaway fears storms.")
    await expect(first).to_be_visible()
    await assert_every_control_is_named(page)

    await first.get_by_role("button", name="Edit").click()
    await first.get_by_label("Edit memory").fill("The stowaway is afraid of storms.")
    await first.get_by_role("button", name="Save").click()
    remembered = about_you.get_by_role("listitem", name="The stowaway is afraid of storms.")
    await expect(remembered).to_be_visible()
    await expect(first).to_be_hidden()

    await remembered.get_by_role("button", name="Pin").click()
    await expect(remembered).to_contain_text("Pinned")
    await expect(remembered.get_by_role("button", name="Unpin")).to_be_visible()
    conversation_id = page.url.rsplit("/", 1)[1]
    memory = await read_as(
        web_stack, person.email, person.password, f"/v1/conversations/{conversation_id}/memory"
    )
    assert [(i["tier"], i["text"], i["pinned"]) for i in memory["items"]] == [
        ("character", "The stowaway is afraid of storms.", True)
    ]

    await remembered.get_by_role("button", name="Forget").click()
    await expect(remembered).to_be_hidden()
    memory = await read_as(
        web_stack, person.email, person.password, f"/v1/conversations/{conversation_id}/memory"
    )
    assert memory["items"] == []

    # A memory written elsewhere (another tab, the API) shows up in the open panel by itself.
    async with as_person(web_stack, person) as client:
        added = await client.post(
            "/v1/memory",
            json={
                "tier": "conversation",
                "text": "The lantern is blue.",
                "conversation_id": conversation_id,
            },
        )
        assert added.status_code == 201, added.text
    this_chat = panel.get_by_role("list", name="This chat")
    await expect(this_chat.get_by_role("listitem", name="The lantern is blue.")).to_be_visible()


async def test_a_message_is_edited_and_deleted_after_confirming(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config()
    person = await register(page)
    await page.get_by_role("button", name="Chat with Captain Mira Vale").click()
    await page.get_by_label("Message", exact=True).fill("Tell me about the sea.")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("listitem", name="Captain Mira Vale")).to_have_count(2)
    await expect(page.get_by_role("button", name="Regenerate")).to_be_visible()

    mine = page.get_by_role("listitem", name="You")
    await mine.get_by_role("button", name="Edit").click()
    await mine.get_by_label("Edit message").fill("Tell me about the storm.")
    await mine.get_by_role("button", name="Save").click()
    await expect(mine.locator(".text")).to_have_text("Tell me about the storm.")
    stored = await stored_messages(web_stack, person.email, person.password, page)
    assert stored[1]["content"] == "Tell me about the storm."

    await mine.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete this message?")
    await expect(confirm).to_be_visible()
    await assert_every_control_is_named(page)
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_be_hidden()
    await expect(mine).to_have_count(1)

    await mine.get_by_role("button", name="Delete").click()
    await confirm.get_by_role("button", name="Delete").click()
    await expect(mine).to_have_count(0)
    stored = await stored_messages(web_stack, person.email, person.password, page)
    assert "user" not in [m["sender"] for m in stored]
