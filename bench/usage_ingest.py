"""Usage ingest into PostgreSQL with exact aggregates: batched vs one event at a time.

* batched — the service's path (`roleplay_usage.ingest.ingest`): per batch (500, the
  consumer's default), one transaction with one multi-row `INSERT … ON CONFLICT DO NOTHING
  RETURNING` for the logs, one multi-row aggregate upsert, one multi-row balance upsert and the
  `usage.balance.changed` rows of the outbox.
* naive — per event, one transaction with one log insert and one aggregate upsert (its hour
  and day rows); no balances, no outbox.

Both run in the same run, on the same server, in a database of their own (created, then
dropped), and both are checked exact: each path's aggregates must equal the totals of its
events. Needs PostgreSQL (`make infra-up`, or `ROLEPLAY_DATABASE_URL`).

    python -m bench usage_ingest [--events 20000] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from pydantic import SecretStr

from roleplay_common.db import Database
from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.events import EventEnvelope, UsageRecorded
from roleplay_common.service import Runtime
from roleplay_common.settings import DatabaseSettings
from roleplay_usage import store
from roleplay_usage.app import MIGRATIONS
from roleplay_usage.domain.aggregates import totals_by_bucket
from roleplay_usage.ingest import Call, ingest
from roleplay_usage.settings import UsageSettings

HOURS = 6


def calls(n: int, provider: str) -> list[Call]:
    """`n` calls of 200 users on 3 models over 6 hours, with varied tokens and latencies."""
    users = [uuid.uuid4() for _ in range(200)]
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS)
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
            status=random.choice(["success"] * 19 + ["error"]),
            latency_ms=random.randrange(50, 5000),
            occurred_at=start + timedelta(seconds=random.randrange(0, HOURS * 3600)),
        )
        out.append((call, EventEnvelope.wrap(call, producer="bench")))
    return out


async def batched(runtime: Runtime, items: list[Call], size: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(items), size):
        await ingest(runtime, items[i : i + size], initial_credits=Decimal(100))
    return time.perf_counter() - started


async def naive(db: Database, items: list[Call]) -> float:
    started = time.perf_counter()
    for call, envelope in items:
        async with db.transaction() as session:
            if await store.insert_logs(session, {envelope.id: call}):
                await store.add_to_aggregates(session, totals_by_bucket([call]))
    return time.perf_counter() - started


async def assert_exact(db: Database, items: list[Call]) -> None:
    """The aggregates of these calls' provider equal the totals of the calls."""
    expected = totals_by_bucket(call for call, _ in items)
    provider = items[0][0].provider
    end = datetime.now(UTC) + timedelta(days=1)
    async with db.transaction() as session:
        found = {
            key: totals
            for kind in ("hour", "day")
            for key, totals in await store.bucket_rows(session, kind, end - timedelta(days=3), end)
            if key[2] == provider
        }
    assert found == expected, f"aggregates of {provider} are not exact"


async def run(n: int, size: int) -> None:
    settings = UsageSettings()
    server = settings.database.url.get_secret_value()
    name = f"bench_usage_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    admin = await asyncpg.connect(server.replace("+asyncpg", ""))
    await admin.execute(f'create database "{name}"')
    try:
        await asyncio.to_thread(upgrade_to_head, url, MIGRATIONS)
        settings = settings.model_copy(update={"database": DatabaseSettings(url=SecretStr(url))})
        runtime = Runtime.create("usage-bench", store.SCHEMA, settings)
        try:
            fast_calls = calls(n, "bench-batched")
            slow_calls = calls(n, "bench-naive")
            fast = await batched(runtime, fast_calls, size)
            slow = await naive(runtime.db, slow_calls)
            await assert_exact(runtime.db, fast_calls)
            await assert_exact(runtime.db, slow_calls)
        finally:
            await runtime.db.dispose()
    finally:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()
    print(f"{'batched':>8}: {n / fast:9.0f} events/s  ({fast:.2f} s for {n}, {size} per batch)")
    print(f"{'naive':>8}: {n / slow:9.0f} events/s  ({slow:.2f} s for {n})")
    print(f"{'speed-up':>8}: {slow / fast:.1f}x  (aggregates of both checked exact)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("usage_ingest", nargs="?")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=UsageSettings().batch_max_records)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.batch))


if __name__ == "__main__":
    main()
