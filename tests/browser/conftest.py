"""The web client in real Chromium against the real system.

Every service runs on loopback in the test's event loop (as in `tests/e2e`), over this
session's own database, topics and buckets; the gateway serves the built client
(`make web`). Chromium is Debian's (`/usr/bin/chromium`, or `ROLEPLAY_CHROMIUM`), driven by
Playwright. Every test runs at a phone and a desktop viewport; a failing test leaves a
screenshot in `.local/browser-failures/`.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from roleplay_gateway.web import DIST
from tests.conftest import IsolatedEnv
from tests.e2e.conftest import Stack, running_stack

FAILURES = Path(__file__).resolve().parents[2] / ".local" / "browser-failures"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
PASSWORD = "correct horse battery"


def chromium_path() -> str | None:
    return os.environ.get("ROLEPLAY_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="package")
async def web_stack(test_env: IsolatedEnv) -> AsyncIterator[Stack]:
    """The browser tests' own system, stopped when they are done: its services share the test
    environment's topics and consumer groups, so left running beside the end-to-end tests'
    system it would take half of their work (and each chat process keeps its own model
    limits)."""
    if not (DIST / "index.html").is_file():
        pytest.fail("the web client is not built: run `make web`")
    async with running_stack(gateway_b=False) as running:
        yield running


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is missing: `make bootstrap` installs Debian's chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        await launched.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture(params=sorted(VIEWPORTS))
async def page(
    request: pytest.FixtureRequest, browser: Browser, web_stack: Stack
) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport=VIEWPORTS[request.param], base_url=web_stack.gateway
    )
    context.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    opened = await context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield opened
    if request.node.stash.get(FAILED, False):
        FAILURES.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        await opened.screenshot(path=str(FAILURES / f"{name}.png"), full_page=True)
    await context.close()
    assert not problems, f"the page reported errors: {problems}"


@dataclass
class Person:
    email: str
    password: str


async def register(page: Page) -> Person:
    person = Person(f"b{uuid.uuid4().hex[:10]}@example.com", PASSWORD)
    await page.goto("/")
    await page.get_by_role("button", name="New here? Create an account").click()
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill(person.password)
    await page.get_by_role("button", name="Register", exact=True).click()
    await expect(page.get_by_role("heading", name="Characters")).to_be_visible()
    return person


@asynccontextmanager
async def as_person(stack: Stack, person: Person) -> AsyncIterator[httpx.AsyncClient]:
    """An API client signed in as the person, to set up or check what the page shows."""
    async with httpx.AsyncClient(base_url=stack.gateway) as client:
        login = await client.post(
            "/v1/auth/login", json={"email": person.email, "password": person.password}
        )
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield client


async def sign_in(page: Page, email: str, password: str) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()


CONTROLS = frozenset(
    {"button", "link", "textbox", "searchbox", "combobox", "checkbox", "radio", "slider"}
)


async def assert_every_control_is_named(page: Page) -> None:
    """Every control on the page has an accessible name (Chromium's own accessibility tree)."""
    session = await page.context.new_cdp_session(page)
    try:
        tree = await session.send("Accessibility.getFullAXTree")
    finally:
        await session.detach()
    unnamed = [
        node
        for node in tree["nodes"]
        if not node.get("ignored")
        and node.get("role", {}).get("value") in CONTROLS
        and not str(node.get("name", {}).get("value", "")).strip()
    ]
    assert not unnamed, f"controls without a name: {unnamed}"
