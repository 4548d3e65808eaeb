"""The internal API (own usage, aggregates, balances, grants), and the gateway's side of it:
`/v1/usage/me`, `/v1/admin/usage`, admin credit grants and the 402 quota check."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from roleplay_common.events import UsageBalanceChanged
from roleplay_common.http import ApiError, install_error_handlers
from roleplay_common.settings import ServiceAuthSettings
from roleplay_gateway.auth.dependencies import current_user
from roleplay_gateway.auth.service import AuthUser
from roleplay_gateway.internal_client import InternalClient
from roleplay_gateway.usage.endpoints import router as gateway_usage
from roleplay_gateway.usage.quota import QuotaCheck
from roleplay_usage.domain import histogram
from roleplay_usage.ingest import ingest
from tests.support.kafka import tap
from tests.usage.integration.conftest import HOUR, call, new_provider, pairs

WINDOW = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}


def person(*roles: str) -> AuthUser:
    return AuthUser(
        id=uuid.uuid4(),
        email="someone@example.org",
        username="someone",
        roles=list(roles) or ["basic_user"],
        age_verified=True,
        default_persona_id=None,
    )


async def test_a_user_sees_only_their_own_usage(usage_service: Any) -> None:
    runtime, client = usage_service
    me, other = uuid.uuid4(), uuid.uuid4()
    provider = new_provider()
    mine = [call(me, provider=provider, model="m1") for _ in range(3)]
    mine.append(call(me, provider=provider, model="m2", request_type="image", tokens_out=0))
    theirs = [call(other, provider=provider, model="m1") for _ in range(5)]
    await ingest(runtime, pairs(mine + theirs), initial_credits=Decimal(100))

    body = (await client.get(f"/internal/usage/users/{me}", params=WINDOW)).json()
    assert (body["requests"], body["tokens_in"], body["tokens_out"]) == (4, 400, 60)
    assert Decimal(body["cost"]) == 3
    assert [(m["model"], m["requests"]) for m in body["by_model"]] == [("m1", 3), ("m2", 1)]
    assert body["from"].startswith("2026-11-20T00:00:00")
    earlier = {"from": "2026-11-19T00:00:00Z", "to": "2026-11-20T00:00:00Z"}
    assert (await client.get(f"/internal/usage/users/{me}", params=earlier)).json()["requests"] == 0
    nobody = (await client.get(f"/internal/usage/users/{uuid.uuid4()}", params=WINDOW)).json()
    assert (nobody["requests"], nobody["by_model"]) == (0, [])


async def test_calls_debit_balances_and_grants_apply_once(usage_service: Any) -> None:
    runtime, client = usage_service
    me = uuid.uuid4()
    balance = f"/internal/balances/{me}"
    assert Decimal((await client.get(balance)).json()["balance"]) == 100  # before any call
    await ingest(runtime, pairs([call(me) for _ in range(4)]), initial_credits=Decimal(100))
    assert Decimal((await client.get(balance)).json()["balance"]) == 97

    grant = {"amount": "10.5", "reason": "test", "idempotency_key": f"g-{me}"}
    async with tap(UsageBalanceChanged.topic) as changes:
        first = await client.post(f"{balance}/grants", json=grant)
        again = await client.post(f"{balance}/grants", json=grant)
        assert Decimal(first.json()["balance"]) == Decimal(again.json()["balance"]) == 107.5
        seen = await changes.wait_for(
            lambda s: any(e.data.get("reference_id") == f"g-{me}" for e in s)
        )
    announced = [e for e in seen if e.data.get("user_id") == str(me)]
    assert {e.data["reason"] for e in announced} == {"usage", "grant"}
    assert sum(e.data.get("reference_id") == f"g-{me}" for e in announced) == 1

    reused = await client.post(f"{balance}/grants", json={**grant, "amount": "99"})
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "conflict"
    taken = await client.post(
        f"{balance}/grants", json={"amount": "-200", "idempotency_key": f"t-{me}"}
    )
    assert Decimal(taken.json()["balance"]) == Decimal("-92.5")


async def test_aggregates_by_provider_model_day_and_hour_with_percentiles(
    usage_service: Any,
) -> None:
    runtime, client = usage_service
    provider = new_provider()
    latencies = [30] * 90 + [800] * 9 + [20000]
    events = [
        call(
            provider=provider,
            model=("m1", "m2")[i % 2],
            at=HOUR + timedelta(hours=i % 3),
            latency_ms=ms,
            status="success" if i % 10 else "error",
        )
        for i, ms in enumerate(latencies)
    ]
    await ingest(runtime, pairs(events), initial_credits=Decimal(100))

    async def report(group_by: str) -> list[dict[str, Any]]:
        response = await client.get(
            "/internal/usage/aggregates", params={**WINDOW, "group_by": group_by}
        )
        assert response.status_code == 200, response.text
        return [r for r in response.json()["items"] if r["provider"] == provider]

    (by_provider,) = await report("provider")
    assert (by_provider["requests"], by_provider["errors"]) == (100, 10)
    assert by_provider["model"] is None and by_provider["bucket_start"] is None
    assert 25 <= by_provider["latency_p50_ms"] < 50
    assert 500 <= by_provider["latency_p95_ms"] < 1000
    assert by_provider["latency_max_ms"] == 20000
    hist = histogram.merge(*(histogram.single(ms) for ms in latencies))
    assert by_provider["latency_p99_ms"] == histogram.percentile(hist, 0.99, 20000)
    assert [(r["model"], r["requests"]) for r in await report("model")] == [
        ("m1", 50),
        ("m2", 50),
    ]
    assert sorted(r["requests"] for r in await report("hour")) == [16, 16, 17, 17, 17, 17]
    days = await report("day")
    assert [(r["bucket_start"][:10], r["requests"]) for r in days] == [
        ("2026-11-20", 50),
        ("2026-11-20", 50),
    ]
    for bad in ({"group_by": "week"}, {"from": "2026-11-20T00:00:00"}, {**WINDOW, "to": "2026"}):
        assert (await client.get("/internal/usage/aggregates", params=bad)).status_code == 422


@pytest.fixture
async def gateway(usage_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """The gateway's usage routes on the usage service, with the caller set by the test."""
    usage = InternalClient("usage", usage_url, ServiceAuthSettings())
    caller: dict[str, Any] = {"user": person()}
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(gateway_usage)
    app.state.usage = usage
    app.dependency_overrides[current_user] = lambda: caller["user"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        yield client, caller
    await usage.close()


async def test_gateway_usage_routes(usage_service: Any, gateway: Any) -> None:
    runtime, _ = usage_service
    client, caller = gateway
    user, admin = person(), person("admin")
    await ingest(runtime, pairs([call(user.id) for _ in range(2)]), initial_credits=Decimal(100))

    caller["user"] = user
    mine = (await client.get("/v1/usage/me", params=WINDOW)).json()
    assert (mine["requests"], Decimal(mine["balance"])) == (2, Decimal("98.5"))
    assert (await client.get("/v1/admin/usage")).status_code == 403
    assert (await client.post(f"/v1/admin/users/{user.id}/credits", json={})).status_code == 403

    caller["user"] = admin
    hourly = await client.get("/v1/admin/usage", params={**WINDOW, "group_by": "hour"})
    assert hourly.status_code == 200 and hourly.json()["items"]
    headers = {"Idempotency-Key": f"k-{user.id}"}
    for _ in range(2):
        granted = await client.post(
            f"/v1/admin/users/{user.id}/credits", json={"amount": "5"}, headers=headers
        )
        assert Decimal(granted.json()["balance"]) == Decimal("103.5")
    assert (await client.get("/v1/usage/me", params={"from": "yesterday"})).status_code == 422


async def test_the_quota_check_refuses_an_exhausted_balance_with_402(
    usage_service: Any, usage_url: str
) -> None:
    _, usage_client = usage_service
    usage = InternalClient("usage", usage_url, ServiceAuthSettings())
    check, user = QuotaCheck(usage), uuid.uuid4()
    await check(user)  # a new user has the initial credits

    body = {"amount": "-100", "idempotency_key": f"q-{user}"}
    await usage_client.post(f"/internal/balances/{user}/grants", json=body)
    with pytest.raises(ApiError) as refused:
        await check(user)
    assert (refused.value.status, refused.value.code) == (402, "balance_exhausted")

    down = InternalClient("usage", "http://127.0.0.1:9", ServiceAuthSettings(), timeout=2)
    with pytest.raises(ApiError) as unavailable:
        await QuotaCheck(down)(user)
    assert unavailable.value.status == 503 and "Retry-After" in unavailable.value.headers
    await down.close()
    await usage.close()
