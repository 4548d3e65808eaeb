"""Usage ingest into PostgreSQL with exact aggregates: batched vs one event at a time.

* batched — the service's path (`roleplay_usage.ingest.ingest`): per batch of 500, one
  transaction with one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING` for the logs, one
  upsert per (bucket, provider, model) touched, one balance upsert per user.
* naive — the seed's way: per event, one transaction with one log insert plus one aggregate
  upsert (hour) and one (day).

Both run on the same database, same machine, same run, on fresh providers so their rows do
not mix. Needs the local infrastructure (`make infra-up`).

    python -m bench usage_ingest [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from roleplay_common.db import Database
from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.events import EventEnvelope, UsageRecorded
from roleplay_common.service import Runtime
from roleplay_usage.app import MIGRATIONS
from roleplay_usage.ingest import add_to_aggregates, aggregate, ingest
from roleplay_usage.settings import UsageSettings
from roleplay_usage.store import SCHEMA, usage_logs


def events(n: int, provider: str) -> list[tuple[Any, EventEnvelope]]:
    users = [uuid.uuid4() for _ in range(200)]
    start = datetime.now(UTC) - timedelta(hours=6)
    out = []
    for _ in range(n):
        call = UsageRecorded(
            user_id=random.choice(users),
            provider=provider,
            model=random.choice(["m1", "m2", "m3"]),
            request_type="chat",
            tokens_in=random.randrange(100, 4000),
            tokens_out=random.randrange(10, 400),
            cost_in=Decimal("0.001"),
            cost_out=Decimal("0.002"),
            status="success",
            latency_ms=random.randrange(50, 5000),
            occurred_at=start + timedelta(seconds=random.randrange(0, 6 * 3600)),
        )
        out.append((call, EventEnvelope.wrap(call, producer="bench")))
    return out


async def batched(runtime: Runtime, items: list[tuple[Any, EventEnvelope]]) -> float:
    started = time.perf_counter()
    for i in range(0, len(items), 500):
        await ingest(runtime, items[i : i + 500], initial_credits=Decimal(100))
    return time.perf_counter() - started


async def naive(db: Database, items: list[tuple[Any, EventEnvelope]]) -> float:
    from sqlalchemy.dialects.postgresql import insert

    started = time.perf_counter()
    for call, envelope in items:
        async with db.transaction() as session:
            inserted = await session.execute(
                insert(usage_logs)
                .values(
                    event_id=envelope.id,
                    user_id=call.user_id,
                    provider=call.provider,
                    model=call.model,
                    request_type=call.request_type,
                    tokens_in=call.tokens_in,
                    tokens_out=call.tokens_out,
                    cost_in=call.cost_in,
                    cost_out=call.cost_out,
                    status=call.status,
                    latency_ms=call.latency_ms,
                    occurred_at=call.occurred_at,
                )
                .on_conflict_do_nothing()
                .returning(usage_logs.c.event_id)
            )
            if inserted.first() is not None:
                await add_to_aggregates(session, aggregate([call]))
    return time.perf_counter() - started


async def run(n: int) -> None:
    settings = UsageSettings()
    await asyncio.to_thread(upgrade_to_head, settings.database.url.get_secret_value(), MIGRATIONS)
    runtime = Runtime.create("usage-bench", SCHEMA, settings)
    try:
        fast = await batched(runtime, events(n, f"bench-batched-{uuid.uuid4().hex[:6]}"))
        slow = await naive(runtime.db, events(n, f"bench-naive-{uuid.uuid4().hex[:6]}"))
    finally:
        await runtime.db.dispose()
    print(f"{'batched':>8}: {n / fast:9.0f} events/s  ({fast:.2f} s for {n})")
    print(f"{'naive':>8}: {n / slow:9.0f} events/s  ({slow:.2f} s for {n})")
    print(f"{'speed-up':>8}: {slow / fast:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("usage_ingest", nargs="?")
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args()
    asyncio.run(run(args.events))


if __name__ == "__main__":
    main()
