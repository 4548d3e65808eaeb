"""A database that stops answering is a 503 with `Retry-After` on every route, never a 500 nor
a dropped connection, and the service answers again once it is back; a conversation's event
stream already open waits it out and carries on.

The gateway and the usage service (one public API, one internal) each run here on a database
and topic prefix of their own, reaching PostgreSQL through a TCP relay the test cuts; every
other test keeps its connections.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from pydantic import SecretStr

from roleplay_chat.app import create_app as chat_app
from roleplay_chat.settings import ChatSettings
from roleplay_common.settings import DatabaseSettings, KafkaSettings
from roleplay_gateway.app import create_app as gateway_app
from roleplay_gateway.catalog.seed import DEMO_CHARACTER_ID
from roleplay_gateway.feed import endpoints as feed_endpoints
from roleplay_gateway.feed.store import append
from roleplay_usage.app import create_app as usage_app
from roleplay_usage.settings import UsageSettings
from tests.conftest import IsolatedEnv
from tests.gateway.conftest import gateway_settings
from tests.support.servers import free_port, serve
from tests.support.services import as_a_service, running
from tests.support.tcp_proxy import TcpProxy, tcp_proxy


@pytest.fixture
async def proxy(test_env: IsolatedEnv) -> AsyncIterator[TcpProxy]:
    target = urlsplit(test_env.endpoints.database_url)
    async with tcp_proxy(target.hostname or "127.0.0.1", target.port or 5432) as relay:
        yield relay


def through(proxy: TcpProxy, database_url: str) -> DatabaseSettings:
    parts = urlsplit(database_url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    url = urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))
    return DatabaseSettings(url=SecretStr(url), pool_size=2, max_overflow=0)


def own_topics(test_env: IsolatedEnv) -> KafkaSettings:
    return KafkaSettings(topic_prefix=f"{test_env.topic_prefix}outage{uuid.uuid4().hex[:6]}.")


def assert_outage(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.headers["Retry-After"].isdigit()
    error = response.json()["error"]
    assert error["code"] == "database_unavailable" and error["message"], error
    assert set(error) >= {"code", "message", "details"}


async def until_ok(
    call: Callable[[], Awaitable[httpx.Response]], timeout: float = 15.0
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = await call()
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.2)


async def test_the_gateway_answers_503_while_its_database_is_down(
    test_env: IsolatedEnv, fresh_database: str, proxy: TcpProxy
) -> None:
    settings = gateway_settings(database=through(proxy, fresh_database), kafka=own_topics(test_env))
    async with running(gateway_app(settings)) as client:
        name = f"u{uuid.uuid4().hex[:10]}"
        account = {"email": f"{name}@example.com", "password": "correct horse"}
        registered = await client.post("/v1/auth/register", json={**account, "username": name})
        assert registered.status_code == 201, registered.text
        me = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        assert (await client.get("/v1/me", headers=me)).status_code == 200

        proxy.cut()
        for method, path, body, headers in (
            ("GET", "/v1/me", None, me),
            ("PATCH", "/v1/me", {"username": "renamed"}, me),
            ("POST", "/v1/auth/login", account, {}),
            (
                "POST",
                "/v1/auth/register",
                {**account, "email": f"x{account['email']}", "username": "x"},
                {},
            ),
            ("GET", "/v1/characters", None, me),
            ("POST", "/v1/characters", {"name": "Offline"}, me),
            ("GET", "/v1/models", None, me),
            ("GET", "/v1/scene-templates", None, me),
        ):
            assert_outage(await client.request(method, path, json=body, headers=headers))
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["Retry-After"]

        proxy.restore()
        back = await until_ok(lambda: client.get("/v1/me", headers=me))
        assert back.status_code == 200, back.text
        assert (await client.post("/v1/auth/login", json=account)).status_code == 200


async def test_an_internal_api_answers_503_while_its_database_is_down(
    test_env: IsolatedEnv, fresh_database: str, proxy: TcpProxy
) -> None:
    settings = UsageSettings(database=through(proxy, fresh_database), kafka=own_topics(test_env))
    async with running(usage_app(settings), headers=as_a_service()) as client:
        path = f"/internal/balances/{uuid.uuid4()}"
        assert (await client.get(path)).status_code == 200
        proxy.cut()
        assert_outage(await client.get(path))
        assert_outage(await client.get(f"/internal/usage/users/{uuid.uuid4()}"))
        proxy.restore()
        assert (await until_ok(lambda: client.get(path))).status_code == 200


async def test_an_open_conversation_stream_waits_out_a_database_outage(
    test_env: IsolatedEnv,
    fresh_database: str,
    proxy: TcpProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feed_endpoints, "KEEPALIVE_SECONDS", 0.3)
    monkeypatch.setattr(feed_endpoints, "OUTAGE_RETRY_SECONDS", 0.3)
    database, kafka = through(proxy, fresh_database), own_topics(test_env)
    chat_port, gateway_port = free_port(), free_port()
    gateway = gateway_app(
        gateway_settings(
            port=gateway_port,
            database=database,
            kafka=kafka,
            chat_url=f"http://127.0.0.1:{chat_port}",
        )
    )
    async with (
        serve(chat_app(ChatSettings(port=chat_port, database=database, kafka=kafka)), chat_port),
        serve(gateway, gateway_port) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        name = f"u{uuid.uuid4().hex[:10]}"
        registered = await client.post(
            "/v1/auth/register",
            json={"email": f"{name}@example.com", "password": "correct horse", "username": name},
        )
        user_id = uuid.UUID(registered.json()["user"]["id"])
        client.headers["Authorization"] = f"Bearer {registered.json()['access_token']}"
        conversation = await client.post(
            "/v1/conversations", json={"character_id": str(DEMO_CHARACTER_ID)}
        )
        conversation_id = uuid.UUID(conversation.json()["id"])

        async def add_entry(marker: str) -> None:
            async with gateway.state.runtime.db.transaction() as session:
                await append(
                    session,
                    event_id=uuid.uuid4(),
                    conversation_id=conversation_id,
                    user_id=user_id,
                    entries=[("test.marker", {"marker": marker})],
                )

        lines: list[str] = []

        async def read(response: httpx.Response) -> None:
            async for line in response.aiter_lines():
                lines.append(line)

        async def seen(text: str, timeout: float = 15.0) -> None:
            async with asyncio.timeout(timeout):
                while not any(text in line for line in lines):
                    assert not reader.done(), "the stream ended"
                    await asyncio.sleep(0.05)

        async with client.stream("GET", f"/v1/conversations/{conversation_id}/events") as stream:
            assert stream.status_code == 200
            reader = asyncio.create_task(read(stream))
            try:
                await add_entry("before")
                await seen('"marker":"before"')
                proxy.cut()
                await seen(": waiting for the database")
                proxy.restore()
                await until_ok(lambda: client.get("/v1/me"))
                await add_entry("after")
                await seen('"marker":"after"')
                # Back to a 15 s keep-alive: an entry now arrives that fast only if the
                # instance listens for the feed's NOTIFY again.
                monkeypatch.setattr(feed_endpoints, "KEEPALIVE_SECONDS", 15.0)
                await add_entry("settle")
                await seen('"marker":"settle"', timeout=20)
                async with asyncio.timeout(15):
                    while not gateway.state.feed_notifier.listening:
                        await asyncio.sleep(0.1)
                await add_entry("notified")
                await seen('"marker":"notified"', timeout=5)
                assert not reader.done()
            finally:
                reader.cancel()
        ids = [int(line[3:]) for line in lines if line.startswith("id:")]
        assert ids == sorted(set(ids))
