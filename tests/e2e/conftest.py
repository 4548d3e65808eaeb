"""The system over real HTTP: the provider stand-in, the chat service and two gateways.

Two gateway instances share everything but memory, so a stream started on one can be resumed
on the other. Services run in the test's event loop on loopback ports; Kafka, PostgreSQL and
MinIO are the session's isolated real servers (tests/conftest.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import IsolatedEnv
from tests.support.servers import free_port, serve


@dataclass
class Stack:
    """Gateway B has quotas on (402 when a balance is used up); A does not."""

    standin: str
    chat: str
    gateway: str
    gateway_b: str
    usage: str
    scenes: str
    library: str
    chat_settings: Any = None
    """The chat process's live settings (a test may change them for its own duration)."""

    async def standin_config(self, **config: Any) -> None:
        async with httpx.AsyncClient(base_url=self.standin) as client:
            (await client.post("/_standin/reset")).raise_for_status()
            if config:
                current = (await client.get("/_standin/config")).json()
                current.update(config)
                (await client.post("/_standin/config", json=current)).raise_for_status()

    async def standin_requests(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.standin) as client:
            result: list[dict[str, Any]] = (await client.get("/_standin/requests")).json()
            return result


@pytest.fixture(scope="package")
async def stack(test_env: IsolatedEnv) -> AsyncIterator[Stack]:
    """The end-to-end tests' system, stopped when they are done: its scenes service watches the
    test environment's job leases and its consumers join the environment's groups, so left
    running it would take over later tests' scene jobs and events."""
    async with running_stack() as running:
        yield running


@asynccontextmanager
async def running_stack(*, gateway_b: bool = True) -> AsyncIterator[Stack]:
    """Every service on loopback ports, with the infrastructure the environment names; without
    `gateway_b`, `Stack.gateway_b` is gateway A."""
    from roleplay_chat.app import create_app as chat_app
    from roleplay_chat.settings import ChatSettings
    from roleplay_gateway.app import create_app as gateway_app
    from roleplay_gateway.settings import GatewaySettings
    from roleplay_library.app import create_app as library_app
    from roleplay_scenes.app import create_app as scenes_app
    from roleplay_scenes.settings import ScenesSettings
    from roleplay_standin.app import create_app as standin_app
    from roleplay_usage.app import create_app as usage_app
    from roleplay_usage.settings import UsageSettings

    names = ("standin", "chat", "gateway", "gateway_b", "usage", "scenes", "library")
    ports = {name: free_port() for name in names}
    standin_url = f"http://127.0.0.1:{ports['standin']}"
    chat_settings = ChatSettings(
        port=ports["chat"],
        first_token_timeout_seconds=2.0,
        idle_timeout_seconds=2.0,
        provider_retries=1,
        provider_backoff_seconds=0.05,
    )

    def gateway_settings(port: int, *, quotas: bool = False) -> GatewaySettings:
        return GatewaySettings(
            port=port,
            chat_url=f"http://127.0.0.1:{ports['chat']}",
            usage_url=f"http://127.0.0.1:{ports['usage']}",
            scenes_url=f"http://127.0.0.1:{ports['scenes']}",
            library_url=f"http://127.0.0.1:{ports['library']}",
            standin_url=standin_url,
            rate_limit_per_minute=100_000,
            rate_limit_burst=100_000,
            quotas_enabled=quotas,
        )

    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serve(standin_app(standin_url), ports["standin"]))
        await stack.enter_async_context(serve(chat_app(chat_settings), ports["chat"]))
        await stack.enter_async_context(
            serve(usage_app(UsageSettings(port=ports["usage"])), ports["usage"])
        )
        scenes_settings = ScenesSettings(
            port=ports["scenes"],
            poll_interval_seconds=1.0,
            provider_backoff_seconds=0.05,
            webhook_base_url=f"http://127.0.0.1:{ports['gateway']}",
        )
        await stack.enter_async_context(serve(scenes_app(scenes_settings), ports["scenes"]))
        await stack.enter_async_context(serve(library_app(), ports["library"]))
        await stack.enter_async_context(
            serve(gateway_app(gateway_settings(ports["gateway"])), ports["gateway"])
        )
        if gateway_b:
            await stack.enter_async_context(
                serve(
                    gateway_app(gateway_settings(ports["gateway_b"], quotas=True)),
                    ports["gateway_b"],
                )
            )
        yield Stack(
            standin=standin_url,
            chat=f"http://127.0.0.1:{ports['chat']}",
            gateway=f"http://127.0.0.1:{ports['gateway']}",
            gateway_b=f"http://127.0.0.1:{ports['gateway_b' if gateway_b else 'gateway']}",
            usage=f"http://127.0.0.1:{ports['usage']}",
            scenes=f"http://127.0.0.1:{ports['scenes']}",
            library=f"http://127.0.0.1:{ports['library']}",
            chat_settings=chat_settings,
        )


@dataclass
class User:
    id: str
    token: str
    client: httpx.AsyncClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def new_user(stack: Stack) -> AsyncIterator[Any]:
    """A factory of registered users, each with a client on gateway A."""
    clients: list[httpx.AsyncClient] = []

    async def make(base_url: str | None = None) -> User:
        name = f"u{uuid.uuid4().hex[:10]}"
        async with httpx.AsyncClient(base_url=stack.gateway) as anon:
            response = await anon.post(
                "/v1/auth/register",
                json={
                    "email": f"{name}@example.com",
                    "password": "correct horse",
                    "username": name,
                },
            )
        assert response.status_code == 201, response.text
        body = response.json()
        client = httpx.AsyncClient(
            base_url=base_url or stack.gateway,
            headers={"Authorization": f"Bearer {body['access_token']}"},
            timeout=30,
        )
        clients.append(client)
        return User(body["user"]["id"], body["access_token"], client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway) as anon:
        response = await anon.post(
            "/v1/auth/login",
            json={
                "email": "admin@roleplay.local",
                "password": os.environ["GATEWAY_ADMIN_PASSWORD"],
            },
        )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    async with httpx.AsyncClient(
        base_url=stack.gateway, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        yield client
