"""Many streams at once: all complete with their text, none holds a database transaction
while it streams, and a model's concurrency limit queues turns visibly instead of hiding them."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from itertools import pairwise
from typing import Any

import asyncpg
import httpx

from tests.conftest import IsolatedEnv
from tests.e2e.conftest import Stack, User
from tests.e2e.test_chat_turns import SSE, send_streaming, start_conversation, text_of
from tests.support.sse import Event, events


async def test_two_hundred_concurrent_turns_all_complete_with_their_own_text(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(output_tokens=24, tokens_per_second=120)
    users: list[User] = [await new_user() for _ in range(8)]
    conversations = [(u, (await start_conversation(u))["id"]) for u in users for _ in range(25)]
    results = await asyncio.gather(
        *(send_streaming(u, c, f"crowd message {n}") for n, (u, c) in enumerate(conversations))
    )
    assert len(results) == 200
    for seen in results:
        assert seen[0].name == "turn.started"
        assert seen[-1].name == "turn.completed", seen[-1]
        deltas = [e for e in seen if e.name == "delta"]
        assert [e.data["seq"] for e in deltas] == list(range(1, len(deltas) + 1))
        assert text_of(seen) == seen[-1].data["message"]["content"] != ""


# Transactions of the gateway begun since the stream was asked for (other systems' gateways
# share the database in this session).
HELD_TRANSACTIONS = (
    "select pid, xact_start from pg_stat_activity"
    " where datname = current_database() and application_name = 'gateway'"
    " and state like 'idle in transaction%' and xact_start >= $1"
)


async def test_a_streaming_reply_holds_no_database_transaction(
    stack: Stack, new_user: Any, test_env: IsolatedEnv
) -> None:
    await stack.standin_config(output_tokens=50, tokens_per_second=10)
    user: User = await new_user()
    conversation = await start_conversation(user)
    database = await asyncpg.connect(test_env.database_url.replace("+asyncpg", ""))
    try:
        asked = await database.fetchval("select now()")
        async with user.client.stream(
            "POST",
            f"/v1/conversations/{conversation['id']}/messages",
            json={"content": "tell me a long story"},
            headers=SSE,
        ) as response:
            seen: list[Event] = []
            async for event in events(response):
                seen.append(event)
                if event.name == "delta" and len(seen) == 3:
                    # Mid-stream, well after the request's lookups, twice a second apart: a
                    # transaction the stream held would still be there, the same one; the
                    # gateway's short background work (feed, outbox) would not.
                    await asyncio.sleep(1.0)
                    first = await database.fetch(HELD_TRANSACTIONS, asked)
                    await asyncio.sleep(1.0)
                    second = await database.fetch(HELD_TRANSACTIONS, asked)
                    assert not {tuple(r) for r in first} & {tuple(r) for r in second}, second
                if event.name.startswith("turn.") and event.name != "turn.started":
                    break
        assert seen[-1].name == "turn.completed"
    finally:
        await database.close()


async def test_turns_beyond_a_models_limit_start_at_once_and_then_take_their_turn(
    stack: Stack, new_user: Any, admin: httpx.AsyncClient
) -> None:
    await stack.standin_config(output_tokens=8, tokens_per_second=40)
    providers = (await admin.get("/v1/admin/providers")).json()["items"]
    standin = next(p for p in providers if p["name"] == "standin")
    key = f"standin-serial-{uuid.uuid4().hex[:6]}"
    created = await admin.post(
        "/v1/admin/models",
        json={
            "key": key,
            "provider_id": standin["id"],
            "model_name": "standin-roleplay",
            "modality": "chat",
            "task": "roleplay",
            "max_concurrent_streams": 1,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["max_concurrent_streams"] == 1
    user: User = await new_user()
    conversations = [(await start_conversation(user))["id"] for _ in range(3)]
    timeline: list[tuple[float, int, str]] = []

    async def turn(n: int, conversation_id: str) -> None:
        async with user.client.stream(
            "POST",
            f"/v1/conversations/{conversation_id}/messages",
            json={"content": f"one at a time {n}", "model": key},
            headers=SSE,
        ) as response:
            async for event in events(response):
                timeline.append((time.monotonic(), n, event.name))
                if event.name in ("turn.completed", "turn.failed"):
                    return

    try:
        await asyncio.gather(*(turn(n, c) for n, c in enumerate(conversations)))
    finally:
        await admin.patch(f"/v1/admin/models/{created.json()['id']}", json={"is_active": False})
    timeline.sort()
    names = [name for _, _, name in timeline]
    assert names.count("turn.completed") == 3
    first_end = names.index("turn.completed")
    assert names[:first_end].count("turn.started") == 3  # nobody waits unseen
    # One stream at a time, as the provider saw it: each request arrived only after the one
    # before had streamed its 8 tokens at 40 tokens/s (175 ms at least). Without the limit all
    # three arrive within milliseconds. (The client's view cannot tell: the gateway relays
    # turns of different partitions in whatever order it reads them.)
    arrivals = sorted(
        datetime.fromisoformat(r["time"])
        for r in await stack.standin_requests()
        if "one at a time" in str((r["body"].get("messages") or [{}])[-1].get("content"))
        and r["body"].get("model") == "standin-roleplay"
    )[-3:]
    assert len(arrivals) == 3
    gaps = [(b - a).total_seconds() for a, b in pairwise(arrivals)]
    assert min(gaps) >= 0.1, gaps
