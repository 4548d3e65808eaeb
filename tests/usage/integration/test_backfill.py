"""Backfill rebuilds the aggregates of a range from the logs: the same rows as the live path,
also while calls keep arriving; and from the command line."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from roleplay_common.events import EventEnvelope
from roleplay_usage import store
from roleplay_usage.backfill import rebuild
from roleplay_usage.cli import app as cli
from roleplay_usage.domain.aggregates import totals_by_bucket
from roleplay_usage.ingest import ingest
from tests.usage.integration.conftest import aggregates_of, call, calls_of, new_provider, pairs

DAY = datetime(2026, 10, 1, tzinfo=UTC)


def spread_over(days: int, provider: str, n: int) -> list[EventEnvelope]:
    return [
        call(
            provider=provider,
            model=random.choice(["a", "b"]),
            at=DAY + timedelta(seconds=random.randrange(0, days * 24 * 3600)),
            status=random.choice(["success", "success", "error", "timeout"]),
            latency_ms=random.randrange(0, 90000),
            tokens_in=random.randrange(0, 5000),
            cost_in=Decimal(random.randrange(0, 10**6)) / 10**6,
        )
        for _ in range(n)
    ]


async def forget_aggregates(runtime: Any, provider: str) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(
            sa.delete(store.usage_aggregates).where(store.usage_aggregates.c.provider == provider)
        )


async def test_backfill_equals_the_live_aggregates(usage_service: Any) -> None:
    runtime, _ = usage_service
    provider = new_provider()
    events = spread_over(2, provider, 300)
    await ingest(runtime, pairs(events), initial_credits=Decimal(100))
    live = await aggregates_of(runtime, provider)
    assert live == totals_by_bucket(calls_of(events))

    await forget_aggregates(runtime, provider)
    assert await rebuild(runtime.db, DAY + timedelta(hours=5), DAY + timedelta(hours=30)) == 2
    assert await aggregates_of(runtime, provider) == live


async def test_backfill_while_calls_arrive_keeps_every_call(usage_service: Any) -> None:
    runtime, _ = usage_service
    provider = new_provider()
    events = spread_over(1, provider, 400)
    batches = [events[i : i + 20] for i in range(0, len(events), 20)]

    async def arriving() -> None:
        for batch in batches:
            await ingest(runtime, pairs(batch), initial_credits=Decimal(100))

    async def rebuilding() -> None:
        for _ in range(10):
            await rebuild(runtime.db, DAY, DAY + timedelta(days=1))

    await asyncio.gather(arriving(), arriving(), arriving(), rebuilding())
    assert await aggregates_of(runtime, provider) == totals_by_bucket(calls_of(events))


async def test_the_backfill_command_rebuilds_with_a_progress_bar(usage_service: Any) -> None:
    runtime, _ = usage_service
    provider = new_provider()
    events = spread_over(3, provider, 60)
    await ingest(runtime, pairs(events), initial_credits=Decimal(100))
    await forget_aggregates(runtime, provider)

    args = ["backfill", "--from", "2026-10-01", "--to", "2026-10-04T00:00:00+00:00"]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    assert "rebuilt 3 day(s)" in result.output
    assert await aggregates_of(runtime, provider) == totals_by_bucket(calls_of(events))
    refused = await asyncio.to_thread(
        CliRunner().invoke, cli, ["backfill", "--from", "2026-10-04", "--to", "2026-10-01"]
    )
    assert refused.exit_code != 0
