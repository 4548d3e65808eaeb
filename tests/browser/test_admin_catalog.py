"""An admin creates, edits and deletes catalog items in the page.

The admin page's panels load one by one and push each other down, so its buttons are pressed
with the keyboard (a click aimed at a button can land on one that moved under it)."""

from __future__ import annotations

import os
import uuid

from playwright.async_api import Page, expect

from tests.browser.conftest import assert_every_control_is_named, sign_in
from tests.e2e.conftest import Stack


async def test_an_admin_creates_edits_and_deletes_a_model(page: Page, web_stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    await page.goto("/#/admin")
    await sign_in(page, "admin@roleplay.local", os.environ["GATEWAY_ADMIN_PASSWORD"])
    models = page.get_by_role("region", name="Models")
    await models.get_by_role("button", name="New model").press("Enter")
    form = models.get_by_role("form", name="New model")
    # a task no route asks for, so the other tests' turns never pick this model
    await form.get_by_label("Key (unique, e.g. provider/model)").fill(f"bad key {tag}")
    await form.get_by_label("Display name").fill(f"Browser model {tag}")
    await form.get_by_label("Model name at the provider").fill("browser-test-model")
    await form.get_by_label("Task (roleplay, t2i, i2i, …)").fill("browser-test")
    await assert_every_control_is_named(page)
    await form.get_by_role("button", name="Save").press("Enter")
    await expect(form.get_by_role("alert")).to_contain_text("key")
    key = form.get_by_label("Key (unique, e.g. provider/model)")
    await expect(key).to_have_attribute("aria-invalid", "true")

    await key.fill(f"browser/{tag}")
    await form.get_by_role("button", name="Save").press("Enter")
    await expect(form).to_be_hidden()
    listed = models.get_by_role("list", name="Models")
    await expect(listed).to_contain_text(f"Browser model {tag}")

    await models.get_by_role("button", name=f"Edit Browser model {tag}").press("Enter")
    edit = models.get_by_role("form", name=f"Edit Browser model {tag}")
    await edit.get_by_label("Display name").fill(f"Renamed model {tag}")
    await edit.get_by_role("button", name="Save").press("Enter")
    await expect(listed).to_contain_text(f"Renamed model {tag}")
    await expect(listed).not_to_contain_text(f"Browser model {tag}")

    await models.get_by_role("button", name=f"Delete Renamed model {tag}").press("Enter")
    await page.get_by_role("dialog").get_by_role("button", name="Delete").press("Enter")
    await expect(listed).not_to_contain_text(f"Renamed model {tag}")


async def test_an_admin_writes_a_prompt_template(page: Page, web_stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    await page.goto("/#/admin")
    await sign_in(page, "admin@roleplay.local", os.environ["GATEWAY_ADMIN_PASSWORD"])
    templates = page.get_by_role("region", name="Prompt templates")
    await templates.get_by_role("button", name="New prompt template").press("Enter")
    form = templates.get_by_role("form", name="New prompt template")
    await form.get_by_label("Name").fill(f"Browser template {tag}")
    # a use case no turn asks for, and inactive, so the other tests' prompts never use it
    await form.get_by_label("Use case").fill("browser_test")
    await form.get_by_label("Active").uncheck()
    await form.get_by_role("button", name="Save").press("Enter")
    prompt = form.get_by_label("System prompt")
    await expect(prompt).to_have_attribute("aria-invalid", "true")
    await expect(form.get_by_role("alert")).to_contain_text("system_prompt")

    await prompt.fill("You are {{char}}.")
    await form.get_by_role("button", name="Save").press("Enter")
    await expect(form).to_be_hidden()
    listed = templates.get_by_role("list", name="Prompt templates")
    await expect(listed).to_contain_text(f"Browser template {tag} browser_test · v1")

    await templates.get_by_role("button", name=f"Edit Browser template {tag}").press("Enter")
    edit = templates.get_by_role("form", name=f"Edit Browser template {tag}")
    await expect(edit.get_by_label("System prompt")).to_have_value("You are {{char}}.")
    await edit.get_by_label("Version").fill("2")
    await edit.get_by_role("button", name="Save").press("Enter")
    await expect(listed).to_contain_text(f"Browser template {tag} browser_test · v2")
    await templates.get_by_role("button", name=f"Delete Browser template {tag}").press("Enter")
    await page.get_by_role("dialog").get_by_role("button", name="Delete").press("Enter")
    await expect(listed).not_to_contain_text(f"Browser template {tag}")
