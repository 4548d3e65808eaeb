"""Setting the scene before a chat (persona and scene template), and a CHARX card dropped on the
dashboard whose import warnings are shown in words."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import Person, assert_every_control_is_named, register
from tests.e2e.conftest import Stack

KEEPER = Path(__file__).resolve().parents[1] / "fixtures" / "cards" / "keeper_v3.json"


async def as_person(stack: Stack, person: Person, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=stack.gateway) as client:
        login = await client.post(
            "/v1/auth/login", json={"email": person.email, "password": person.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        answer = await client.request(method, path, headers=headers, **kw)
    assert answer.status_code < 300, answer.text
    return answer.json()


async def test_a_scene_template_and_a_starter_set_up_the_chat(page: Page, web_stack: Stack) -> None:
    await web_stack.standin_config()
    person = await register(page)
    template = await as_person(
        web_stack,
        person,
        "POST",
        "/v1/scene-templates",
        json={
            "name": "Storm at the lighthouse",
            "setting": "A lighthouse on a cliff.",
            "scenario": "The ferry is late and the lamp has gone out.",
            "atmosphere": "Wind howls; salt on the glass.",
            "scene_starters": ["I climb the stairs with a lantern.", "I knock at the door."],
        },
    )
    await page.get_by_role("button", name="Set the scene with Captain Mira Vale").click()
    wizard = page.get_by_role("dialog", name="Set the scene with Captain Mira Vale")
    await expect(wizard.get_by_label("You play")).to_have_value("")
    await wizard.get_by_label("Scene template").select_option(label="Storm at the lighthouse")
    await expect(wizard).to_contain_text("Wind howls; salt on the glass.")
    await expect(wizard).to_contain_text("A lighthouse on a cliff.")
    await wizard.get_by_role("radio", name="I knock at the door.").check()
    await assert_every_control_is_named(page)
    await wizard.get_by_role("button", name="Start chat").click()

    await expect(page.get_by_label("Message", exact=True)).to_have_value("I knock at the door.")
    conversation_id = page.url.rsplit("/", 1)[1]
    conversation = await as_person(web_stack, person, "GET", f"/v1/conversations/{conversation_id}")
    assert conversation["scene_template_id"] == template["id"]
    await page.get_by_role("button", name="Send").click()
    mine = page.get_by_role("listitem", name="You")
    await expect(mine.first).to_contain_text("I knock at the door.")


async def test_a_dropped_charx_card_shows_its_warnings_then_chats(
    page: Page, web_stack: Stack
) -> None:
    await web_stack.standin_config()
    card = json.loads(KEEPER.read_text())
    card["data"]["tags"] = ["lighthouse", 7]  # mended: a tag that is not text
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("card.json", json.dumps(card))
    await register(page)

    drop_zone = page.locator(".import")
    transfer = await page.evaluate_handle(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "keeper.charx", { type: "application/zip" }));
            return data;
        }""",
        base64.b64encode(archive.getvalue()).decode(),
    )
    await drop_zone.dispatch_event("dragover", {"dataTransfer": transfer})
    await drop_zone.dispatch_event("drop", {"dataTransfer": transfer})

    warnings = page.get_by_role("status", name="Maren Holt was imported, with changes")
    await expect(warnings).to_be_visible()
    await expect(warnings.get_by_role("list")).to_contain_text("tags")
    await assert_every_control_is_named(page)
    await page.get_by_role("button", name="Start chatting with Maren Holt").click()
    greeting = page.get_by_role("listitem", name="Maren Holt")
    await expect(greeting.first).to_contain_text("The lamp turns above you.")
