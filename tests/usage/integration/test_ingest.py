"""Usage is counted exactly once: redelivery, a crash before the offset commit, a full replay,
concurrent consumers — and backfill rebuilds the same aggregates from the logs."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from roleplay_common.events import EventEnvelope, UsageRecorded
from roleplay_common.service import Runtime
from roleplay_usage.app import create_app
from roleplay_usage.backfill import rebuild
from roleplay_usage.ingest import ingest
from roleplay_usage.store import usage_aggregates, usage_logs
from tests.conftest import IsolatedEnv
from tests.support.kafka import producer, tap
from tests.support.services import running

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
async def usage_service(test_env: IsolatedEnv) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    app = create_app()
    async with running(app) as client:
        yield app.state.runtime, client


def call(
    user_id: uuid.UUID, *, provider: str = "p", model: str = "m", at: datetime = HOUR, **kw: Any
) -> EventEnvelope:
    values: dict[str, Any] = {
        "user_id": user_id,
        "provider": provider,
        "model": model,
        "request_type": "chat",
        "tokens_in": 100,
        "tokens_out": 20,
        "cost_in": Decimal("0.5"),
        "cost_out": Decimal("0.25"),
        "status": "success",
        "response_status": 200,
        "latency_ms": random.choice([10, 40, 300, 3000]),
        "occurred_at": at,
        **kw,
    }
    return EventEnvelope.wrap(UsageRecorded(**values), producer="tests")


def pairs(envelopes: list[EventEnvelope]) -> list[tuple[Any, EventEnvelope]]:
    return [(e.payload(), e) for e in envelopes]


async def snapshot(runtime: Runtime, provider: str) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        logs = await session.scalar(
            sa.select(sa.func.count())
            .select_from(usage_logs)
            .where(usage_logs.c.provider == provider)
        )
        rows = (
            await session.execute(
                sa.select(usage_aggregates)
                .where(usage_aggregates.c.provider == provider)
                .order_by(
                    usage_aggregates.c.bucket_kind,
                    usage_aggregates.c.bucket_start,
                    usage_aggregates.c.model,
                )
            )
        ).all()
    return {"logs": logs, "aggregates": [tuple(r) for r in rows]}


def expected_hour(envelopes: list[EventEnvelope]) -> tuple[int, int, Decimal]:
    calls = [e.payload() for e in envelopes]
    return (
        len(calls),
        sum(c.tokens_in for c in calls),  # type: ignore[attr-defined]
        sum((c.cost for c in calls), Decimal(0)),  # type: ignore[attr-defined]
    )


async def wait_for_logs(runtime: Runtime, provider: str, count: int, timeout: float = 90) -> None:
    async with asyncio.timeout(timeout):
        while (await snapshot(runtime, provider))["logs"] < count:
            await asyncio.sleep(0.1)


async def test_redelivered_events_count_once_through_kafka(usage_service: Any) -> None:
    runtime, _ = usage_service
    provider = f"p{uuid.uuid4().hex[:6]}"
    user = uuid.uuid4()
    events = [call(user, provider=provider) for _ in range(20)]
    async with producer() as p:
        for envelope in events + events[:7]:
            await p.send(UsageRecorded.topic, envelope)
        marker = call(user, provider=provider)
        await p.send(UsageRecorded.topic, marker)
    await wait_for_logs(runtime, provider, 21)
    state = await snapshot(runtime, provider)
    hour = next(r for r in state["aggregates"] if r[0] == "hour")
    requests, tokens_in, cost = expected_hour([*events, marker])
    assert (hour[4], hour[7], hour[9]) == (requests, tokens_in, cost)
    assert sum(hour[11]) == requests


async def test_a_crash_before_the_offset_commit_and_a_full_replay_change_nothing(
    usage_service: Any, test_env: IsolatedEnv
) -> None:
    runtime, _ = usage_service
    provider = f"p{uuid.uuid4().hex[:6]}"
    events = [
        call(uuid.uuid4(), provider=provider, model=random.choice(["a", "b"])) for _ in range(30)
    ]
    # The transaction committed but the consumer died before committing the offset:
    assert await ingest(runtime, pairs(events[:10]), initial_credits=Decimal(100)) == 10
    async with producer() as p:
        for envelope in events:
            await p.send(UsageRecorded.topic, envelope)
    await wait_for_logs(runtime, provider, 30)
    before = await snapshot(runtime, provider)

    # Replay the whole topic from offset 0, as a new consumer would.
    async with tap(UsageRecorded.topic) as everything:
        seen = await everything.wait_for(
            lambda s: sum(e.data["provider"] == provider for e in s) >= 30
        )
    replay = [e for e in seen if e.type == UsageRecorded.event_type]
    assert await ingest(runtime, pairs(replay), initial_credits=Decimal(100)) == 0
    assert await snapshot(runtime, provider) == before


async def test_concurrent_batches_on_one_bucket_lose_no_increment(usage_service: Any) -> None:
    runtime, _ = usage_service
    provider = f"p{uuid.uuid4().hex[:6]}"
    batches = [[call(uuid.uuid4(), provider=provider) for _ in range(25)] for _ in range(6)]
    results = await asyncio.gather(
        *(ingest(runtime, pairs(b), initial_credits=Decimal(100)) for b in batches)
    )
    assert results == [25] * 6
    state = await snapshot(runtime, provider)
    for kind in ("hour", "day"):
        row = next(r for r in state["aggregates"] if r[0] == kind)
        assert row[4] == 150 and row[7] == 150 * 100 and sum(row[11]) == 150


async def test_backfill_equals_the_live_aggregates(usage_service: Any) -> None:
    runtime, _ = usage_service
    provider = f"p{uuid.uuid4().hex[:6]}"
    day = datetime(2026, 10, 1, tzinfo=UTC)
    events = [
        call(
            uuid.uuid4(),
            provider=provider,
            model=random.choice(["a", "b"]),
            at=day + timedelta(minutes=random.randrange(0, 2 * 24 * 60)),
            status=random.choice(["success", "success", "error"]),
            latency_ms=random.randrange(1, 70000),
        )
        for _ in range(120)
    ]
    await ingest(runtime, pairs(events), initial_credits=Decimal(100))
    live = await snapshot(runtime, provider)
    async with runtime.db.transaction() as session:
        await session.execute(
            sa.delete(usage_aggregates).where(usage_aggregates.c.provider == provider)
        )
    assert await rebuild(runtime.db, day, day + timedelta(days=2)) == 2
    assert await snapshot(runtime, provider) == live


async def test_malformed_events_are_dead_lettered_and_the_consumer_carries_on(
    usage_service: Any,
) -> None:
    runtime, _ = usage_service
    provider = f"p{uuid.uuid4().hex[:6]}"
    broken = EventEnvelope(
        type=UsageRecorded.event_type,
        producer="tests",
        key="k",
        correlation_id="c",
        data={"model": "x"},
    )
    good = call(uuid.uuid4(), provider=provider)
    async with tap("dlq.usage") as dlq, producer() as p:
        await p.send(UsageRecorded.topic, broken)
        await p.send_bytes(UsageRecorded.topic, b"\x00garbage")
        await p.send(UsageRecorded.topic, good)
        await wait_for_logs(runtime, provider, 1)
        seen = await dlq.wait_for(
            lambda s: any(e.data["original"].get("id") == str(broken.id) for e in s)
        )
    assert any("invalid payload" in e.data["error"] for e in seen)


async def test_usage_queries_balances_and_grants(usage_service: Any) -> None:
    runtime, client = usage_service
    me, other = uuid.uuid4(), uuid.uuid4()
    provider = f"p{uuid.uuid4().hex[:6]}"
    await ingest(
        runtime,
        pairs([call(me, provider=provider) for _ in range(4)]),
        initial_credits=Decimal(100),
    )
    window = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}
    mine = (await client.get(f"/internal/usage/users/{me}", params=window)).json()
    assert mine["requests"] == 4 and mine["tokens_in"] == 400 and Decimal(mine["cost"]) == 3
    assert (await client.get(f"/internal/usage/users/{other}", params=window)).json()[
        "requests"
    ] == 0
    assert Decimal((await client.get(f"/internal/balances/{me}")).json()["balance"]) == 97
    body = {"amount": "10", "reason": "test", "idempotency_key": f"g-{me}"}
    assert (
        Decimal((await client.post(f"/internal/balances/{me}/grants", json=body)).json()["balance"])
        == 107
    )
    assert (
        Decimal((await client.post(f"/internal/balances/{me}/grants", json=body)).json()["balance"])
        == 107
    )
    grouped = (
        await client.get("/internal/usage/aggregates", params={**window, "group_by": "model"})
    ).json()
    row = next(r for r in grouped["items"] if r["provider"] == provider)
    assert row["requests"] == 4 and row["latency_p95_ms"] is not None
    bad = await client.get("/internal/usage/aggregates", params={"group_by": "week"})
    assert bad.status_code == 422


async def test_copies_inside_one_batch_count_once(usage_service: Any) -> None:
    runtime, _ = usage_service
    provider = f"p{uuid.uuid4().hex[:6]}"
    events = [call(uuid.uuid4(), provider=provider) for _ in range(5)]
    assert await ingest(runtime, pairs(events + events[:3]), initial_credits=Decimal(100)) == 5
    hour = next(r for r in (await snapshot(runtime, provider))["aggregates"] if r[0] == "hour")
    assert hour[4] == 5
