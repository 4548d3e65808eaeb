"""Usage through the public API: every call counted for its user, admin aggregates, quotas."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx

from tests.e2e.conftest import Stack, User
from tests.e2e.test_access_and_input import assert_error
from tests.e2e.test_chat_turns import send_streaming, start_conversation


async def eventually(check: Any, timeout: float = 20.0) -> Any:
    """Usage is recorded asynchronously (outbox → Kafka → usage): wait for it to show."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.2)
    return result


async def test_my_usage_shows_my_calls_only(
    stack: Stack, new_user: Any, admin: httpx.AsyncClient
) -> None:
    await stack.standin_config()
    user: User = await new_user()
    other: User = await new_user()
    conversation = await start_conversation(user)
    await send_streaming(user, conversation["id"], "Count this call")

    async def mine() -> dict[str, Any] | None:
        body: dict[str, Any] = (await user.client.get("/v1/usage/me")).json()
        return body if body["requests"] >= 1 else None

    usage = await eventually(mine)
    assert usage["tokens_out"] > 0 and Decimal(usage["cost"]) > 0
    assert usage["by_model"][0]["model"] == "standin-roleplay"
    assert (await other.client.get("/v1/usage/me")).json()["requests"] == 0

    async def profile_balance() -> bool:
        return float((await user.client.get("/v1/me")).json()["token_balance"]) < 100

    assert await eventually(profile_balance)

    hourly = (await admin.get("/v1/admin/usage", params={"group_by": "hour"})).json()["items"]
    assert any(r["model"] == "standin-roleplay" and r["requests"] >= 1 for r in hourly)
    assert_error(await user.client.get("/v1/admin/usage"), 403)
    assert_error(await user.client.get("/v1/usage/me", params={"from": "yesterday"}), 422)


async def test_an_exhausted_balance_gets_402_until_an_admin_grants_credits(
    stack: Stack, new_user: Any, admin: httpx.AsyncClient
) -> None:
    await stack.standin_config()
    user: User = await new_user(stack.gateway_b)
    conversation = await start_conversation(user)
    taken = await admin.post(
        f"/v1/admin/users/{user.id}/credits",
        json={"amount": "-1000", "reason": "test"},
        headers={"Idempotency-Key": f"take-{user.id}"},
    )
    assert taken.status_code == 200 and Decimal(taken.json()["balance"]) < 0
    refused = await user.client.post(
        f"/v1/conversations/{conversation['id']}/messages", json={"content": "hello?"}
    )
    assert_error(refused, 402, "balance_exhausted")
    await admin.post(
        f"/v1/admin/users/{user.id}/credits",
        json={"amount": "2000"},
        headers={"Idempotency-Key": f"give-{user.id}"},
    )
    allowed = await user.client.post(
        f"/v1/conversations/{conversation['id']}/messages", json={"content": "hello!"}
    )
    assert allowed.status_code == 202, allowed.text
