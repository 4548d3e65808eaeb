"""An open conversation stream keeps getting its events after PostgreSQL ends the gateways'
LISTEN connections: they come back, and NOTIFY wakes the stream again.

The stream's fallback look (every keep-alive) is pushed out of reach here, so an event that
arrives can only have been announced by NOTIFY on a re-established LISTEN.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from roleplay_gateway.feed import endpoints as feed_endpoints
from roleplay_gateway.feed.notifier import LISTENER_NAME
from tests.conftest import IsolatedEnv
from tests.e2e.conftest import Stack, User
from tests.e2e.test_chat_turns import send_streaming, start_conversation
from tests.e2e.test_conversation_events import read_until
from tests.support.sse import Event

LISTENERS = "select pid from pg_stat_activity where application_name = $1 and datname = $2"


async def test_events_still_arrive_after_the_listening_connections_are_terminated(
    stack: Stack, new_user: Any, test_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_endpoints, "KEEPALIVE_SECONDS", 600.0)
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    admin = await asyncpg.connect(test_env.database_url.replace("+asyncpg", ""))
    database = test_env.database_url.rsplit("/", 1)[-1]
    try:
        before = {r["pid"] for r in await admin.fetch(LISTENERS, LISTENER_NAME, database)}
        assert len(before) >= 2, "a listener per gateway instance"

        seen: list[Event] = []
        url = f"/v1/conversations/{conversation['id']}/events"
        async with user.client.stream("GET", url) as response:
            assert response.status_code == 200
            reader = asyncio.create_task(read_until(response, {"turn.completed"}, seen))
            await asyncio.sleep(0.5)  # the stream has read once and now waits for NOTIFY
            for pid in before:
                assert await admin.fetchval("select pg_terminate_backend($1)", pid)
            async with asyncio.timeout(20):
                while True:
                    now = {r["pid"] for r in await admin.fetch(LISTENERS, LISTENER_NAME, database)}
                    if len(now - before) >= len(before):
                        break
                    await asyncio.sleep(0.1)
            await send_streaming(user, conversation["id"], "Still listening?")
            await asyncio.wait_for(reader, 20)
        names = [e.name for e in seen]
        assert "turn.started" in names and names[-1] == "turn.completed"
    finally:
        await admin.close()


async def test_a_stream_opened_on_another_instance_is_woken_too(
    stack: Stack, new_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_endpoints, "KEEPALIVE_SECONDS", 600.0)
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    seen: list[Event] = []
    url = f"/v1/conversations/{conversation['id']}/events"
    async with (
        httpx.AsyncClient(base_url=stack.gateway_b, headers=user.client.headers, timeout=30) as b,
        b.stream("GET", url) as response,
    ):
        reader = asyncio.create_task(read_until(response, {"turn.completed"}, seen))
        await asyncio.sleep(0.5)
        await send_streaming(user, conversation["id"], "Anyone on B?")
        await asyncio.wait_for(reader, 20)
    assert seen[-1].name == "turn.completed"
