"""A provider's key is sent only from a variable the allow-list names: chat and scenes call the
real provider stand-in with routes that name an allowed, a service's own, and an unlisted
variable, and the stand-in records whether a key arrived."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from roleplay_chat.providers.openai_compatible import ProviderSession, stream_chat
from roleplay_common.events import ModelRoute
from roleplay_scenes.providers.narrative import write_narrative
from roleplay_standin.app import create_app as standin_app
from tests.support.servers import free_port, serve


@pytest.fixture
async def standin() -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    async with (
        serve(standin_app(), port) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        yield client


def route(standin: httpx.AsyncClient, api_key_env: str) -> ModelRoute:
    return ModelRoute(
        model_key="standin-roleplay",
        model_name="standin-roleplay",
        provider="standin",
        base_url=str(standin.base_url.join("/v1")),
        api_key_env=api_key_env,
    )


async def auth_schemes(standin: httpx.AsyncClient) -> list[str | None]:
    recorded = (await standin.get("/_standin/requests")).json()
    await standin.delete("/_standin/requests")
    return [r["auth_scheme"] for r in recorded]


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEPLAY_S3_SECRET_KEY", "s3-secret-that-must-stay-home")
    monkeypatch.setenv("GATEWAY_JWT_SECRET", "jwt-secret-that-must-stay-home")
    monkeypatch.setenv("HOME_DIRECTORY_TOKEN", "not-on-the-allow-list")
    monkeypatch.setenv("STANDIN_API_KEY", "sk-allowed")
    monkeypatch.setenv("PROVIDER_KEY_STANDIN", "sk-allowed-too")


@pytest.mark.usefixtures("variables")
async def test_chat_sends_a_key_only_from_an_allowed_variable(
    standin: httpx.AsyncClient,
) -> None:
    providers = ProviderSession(4)
    try:
        for name in (
            "STANDIN_API_KEY",
            "PROVIDER_KEY_STANDIN",
            "ROLEPLAY_S3_SECRET_KEY",
            "GATEWAY_JWT_SECRET",
            "HOME_DIRECTORY_TOKEN",
        ):
            events = stream_chat(
                providers,
                route(standin, name),
                [{"role": "user", "content": "hello"}],
                max_tokens=8,
                temperature=0.7,
                first_token_timeout=5,
                idle_timeout=5,
            )
            assert [e async for e in events]
    finally:
        await providers.close()
    assert await auth_schemes(standin) == ["Bearer", "Bearer", None, None, None]


@pytest.mark.usefixtures("variables")
async def test_scenes_sends_a_key_only_from_an_allowed_variable(
    standin: httpx.AsyncClient,
) -> None:
    async with httpx.AsyncClient() as client:
        for name in ("STANDIN_API_KEY", "ROLEPLAY_S3_SECRET_KEY", "SCENES_WEBHOOK_SECRET"):
            await write_narrative(client, route(standin, name), [{"role": "user", "content": "x"}])
    assert await auth_schemes(standin) == ["Bearer", None, None]


async def test_the_allow_list_is_a_setting(
    standin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLEPLAY_PROVIDER_KEY_ENV_ALLOWED", "VAULT_*, ROLEPLAY_*")
    monkeypatch.setenv("VAULT_STANDIN", "sk-vault")
    monkeypatch.setenv("STANDIN_API_KEY", "sk-no-longer-allowed")
    monkeypatch.setenv("ROLEPLAY_VAULT_KEY", "a service prefix is never allowed")
    async with httpx.AsyncClient() as client:
        for name in ("VAULT_STANDIN", "STANDIN_API_KEY", "ROLEPLAY_VAULT_KEY"):
            await write_narrative(client, route(standin, name), [{"role": "user", "content": "x"}])
    assert await auth_schemes(standin) == ["Bearer", None, None]
