"""Internal APIs answer only callers with the service token; health stays open; a token being
rotated out is still accepted; the gateway's calls carry the token."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from roleplay_common.http import ApiError
from roleplay_common.settings import ServiceAuthSettings
from roleplay_gateway.internal_client import InternalClient
from roleplay_library.settings import LibrarySettings
from tests.conftest import IsolatedEnv
from tests.support.servers import free_port, serve
from tests.support.services import as_a_service, running

PREVIOUS = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
async def library_app(test_env: IsolatedEnv) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The library service, accepting the session's token and one being rotated out."""
    from roleplay_library.app import create_app

    settings = LibrarySettings()
    settings.service_auth = ServiceAuthSettings(token_previous=SecretStr(PREVIOUS))
    app = create_app(settings)
    async with running(app) as client:
        yield app, client


@pytest.fixture
def library(library_app: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return library_app[1]


@pytest.fixture
async def library_url(library_app: tuple[FastAPI, httpx.AsyncClient]) -> AsyncIterator[str]:
    """The running library service on a real port, as the gateway reaches it."""
    async with serve(library_app[0], free_port(), lifespan="off") as url:
        yield url


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "invalid_service_token" and error["message"]
    assert error["details"] == {}


async def test_an_internal_route_needs_the_service_token(library: httpx.AsyncClient) -> None:
    assets = f"/internal/assets?user_id={uuid.uuid4()}"
    assert_refused(await library.get(assets))
    for wrong in ("Bearer nope", f"Basic {as_a_service()['Authorization'][7:]}", "Bearer "):
        assert_refused(await library.get(assets, headers={"Authorization": wrong}))

    allowed = await library.get(assets, headers=as_a_service())
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == {"items": [], "next_cursor": None}
    rotated_out = await library.get(assets, headers={"Authorization": f"Bearer {PREVIOUS}"})
    assert rotated_out.status_code == 200


async def test_health_is_open_and_everything_else_guarded(library: httpx.AsyncClient) -> None:
    assert (await library.get("/healthz")).status_code == 200
    assert (await library.get("/readyz")).status_code == 200
    for path in ("/metrics", "/asyncapi", "/openapi.json", "/docs", "/internal/nothing-here"):
        assert_refused(await library.get(path))
    metrics = await library.get("/metrics", headers=as_a_service())
    assert metrics.status_code == 200 and "roleplay_http_requests_total" in metrics.text


async def test_the_gateways_client_sends_the_token_and_hides_a_refusal(library_url: str) -> None:
    user = uuid.uuid4()
    client = InternalClient("library", library_url, ServiceAuthSettings())
    assert (await client.call("GET", "/internal/assets", user_id=user))["items"] == []
    await client.close()

    # A deployment whose gateway has another token: its callers see a 503, not their own 401.
    wrong = ServiceAuthSettings(token=SecretStr(secrets.token_urlsafe(32)))
    refusing = InternalClient("library", library_url, wrong)
    with pytest.raises(ApiError) as refused:
        await refusing.call("GET", "/internal/assets", user_id=user)
    assert refused.value.status == 503 and "Retry-After" in refused.value.headers
    await refusing.close()
