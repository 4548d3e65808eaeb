"""Ingesting a batch of `usage.recorded` events: exactly once, in one transaction.

1. Insert one log row per event id; `ON CONFLICT DO NOTHING RETURNING` tells which events are
   new. A redelivered, replayed or re-consumed event inserts nothing and so counts nothing.
2. Add the new events to their hour and day aggregates with `INSERT … ON CONFLICT DO UPDATE
   SET x = x + excluded.x` (histograms element-wise): atomic per row, so two consumers adding
   to the same provider/model/hour never lose an increment. Rows are upserted in key order so
   concurrent batches lock them in the same order (no deadlock).
3. Debit each user's balance by the new events' cost and queue `usage.balance.changed`
   through the outbox.
The Kafka offset is committed after this transaction, so a crash in between only means the
batch is read again — and step 1 makes that a no-op.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.db import add_to_outbox
from roleplay_common.events import EventEnvelope, UsageBalanceChanged, UsageRecorded
from roleplay_common.service import Runtime
from roleplay_usage.domain import histogram
from roleplay_usage.domain.buckets import KINDS, bucket_start
from roleplay_usage.store import SCHEMA, balances, usage_aggregates, usage_logs


@dataclass
class Totals:
    requests: int = 0
    successes: int = 0
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = Decimal(0)
    latency_sum_ms: int = 0
    latency_hist: list[int] = field(default_factory=lambda: [0] * histogram.SIZE)

    def add(self, call: UsageRecorded) -> None:
        self.requests += 1
        self.successes += call.status == "success"
        self.errors += call.status != "success"
        self.tokens_in += call.tokens_in
        self.tokens_out += call.tokens_out
        self.cost += call.cost
        self.latency_sum_ms += call.latency_ms
        self.latency_hist[histogram.bucket_of(call.latency_ms)] += 1


AggregateKey = tuple[str, datetime, str, str]


def aggregate(calls: list[UsageRecorded]) -> dict[AggregateKey, Totals]:
    """Totals per (bucket kind, bucket start, provider, model)."""
    totals: dict[AggregateKey, Totals] = defaultdict(Totals)
    for call in calls:
        for kind in KINDS:
            totals[(kind, bucket_start(call.occurred_at, kind), call.provider, call.model)].add(
                call
            )
    return totals


async def ingest(
    runtime: Runtime,
    batch: list[tuple[UsageRecorded, EventEnvelope]],
    *,
    initial_credits: Decimal,
) -> int:
    """Record a batch; returns how many events were new."""
    if not batch:
        return 0
    batch = list({env.id: (call, env) for call, env in batch}.values())  # a copy in the batch
    async with runtime.db.transaction() as session:
        new_ids = await _insert_logs(session, batch)
        new = [(call, env) for call, env in batch if env.id in new_ids]
        if not new:
            return 0
        await add_to_aggregates(session, aggregate([call for call, _ in new]))
        await _debit_balances(runtime, session, new, initial_credits)
    return len(new)


async def _insert_logs(
    session: AsyncSession, batch: list[tuple[UsageRecorded, EventEnvelope]]
) -> set[UUID]:
    rows = {
        env.id: {
            "event_id": env.id,
            "user_id": call.user_id,
            "provider": call.provider,
            "model": call.model,
            "request_type": call.request_type,
            "tokens_in": call.tokens_in,
            "tokens_out": call.tokens_out,
            "cost_in": call.cost_in,
            "cost_out": call.cost_out,
            "status": call.status,
            "response_status": call.response_status,
            "latency_ms": call.latency_ms,
            "occurred_at": call.occurred_at,
            "reference_id": call.reference_id,
            "error_code": call.error_code,
        }
        for call, env in batch
    }
    result = await session.execute(
        insert(usage_logs)
        .values(list(rows.values()))
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(usage_logs.c.event_id)
    )
    return set(result.scalars())


async def add_to_aggregates(session: AsyncSession, totals: dict[AggregateKey, Totals]) -> None:
    """One multi-row upsert; keys sorted so concurrent batches lock rows in the same order."""
    if not totals:
        return
    rows = [
        {
            "bucket_kind": kind,
            "bucket_start": start,
            "provider": provider,
            "model": model,
            "requests": t.requests,
            "successes": t.successes,
            "errors": t.errors,
            "tokens_in": t.tokens_in,
            "tokens_out": t.tokens_out,
            "cost": t.cost,
            "latency_sum_ms": t.latency_sum_ms,
            "latency_hist": t.latency_hist,
        }
        for (kind, start, provider, model), t in sorted(totals.items())
    ]
    statement = insert(usage_aggregates).values(rows)
    current, excluded = usage_aggregates.c, statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["bucket_kind", "bucket_start", "provider", "model"],
            set_={
                "requests": current.requests + excluded.requests,
                "successes": current.successes + excluded.successes,
                "errors": current.errors + excluded.errors,
                "tokens_in": current.tokens_in + excluded.tokens_in,
                "tokens_out": current.tokens_out + excluded.tokens_out,
                "cost": current.cost + excluded.cost,
                "latency_sum_ms": current.latency_sum_ms + excluded.latency_sum_ms,
                "latency_hist": sa.text(
                    "(select array_agg(a + b order by i) from unnest("
                    f"{SCHEMA}.usage_aggregates.latency_hist, excluded.latency_hist) "
                    "with ordinality as h(a, b, i))"
                ),
            },
        )
    )


async def _debit_balances(
    runtime: Runtime,
    session: AsyncSession,
    new: list[tuple[UsageRecorded, EventEnvelope]],
    initial_credits: Decimal,
) -> None:
    cost: dict[UUID, Decimal] = defaultdict(Decimal)
    last: dict[UUID, EventEnvelope] = {}
    for call, env in new:
        cost[call.user_id] += call.cost
        last[call.user_id] = env
    debits = {user: -amount for user, amount in sorted(cost.items()) if amount}
    if not debits:
        return
    after = await change_balances(session, debits, initial_credits)
    now = datetime.now(UTC)
    await add_to_outbox(
        session,
        runtime.schema,
        runtime.topics,
        *(
            runtime.envelope(
                UsageBalanceChanged(
                    user_id=user_id,
                    balance=after[user_id],
                    delta=delta,
                    reason="usage",
                    reference_id=str(last[user_id].id),
                    occurred_at=now,
                ),
                causation=last[user_id],
            )
            for user_id, delta in debits.items()
        ),
    )


async def change_balances(
    session: AsyncSession, deltas: dict[UUID, Decimal], initial_credits: Decimal
) -> dict[UUID, Decimal]:
    """Add each delta to its user's balance (new users start at `initial_credits`), in one
    statement; the balances after."""
    now = datetime.now(UTC)
    statement = insert(balances).values(
        [
            {"user_id": user_id, "balance": initial_credits + delta, "updated_at": now}
            for user_id, delta in sorted(deltas.items())
        ]
    )
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id"],
            set_={
                "balance": balances.c.balance + (statement.excluded.balance - initial_credits),
                "updated_at": now,
            },
        ).returning(balances.c.user_id, balances.c.balance)
    )
    return {row.user_id: row.balance for row in result}


async def change_balance(
    session: AsyncSession, user_id: UUID, delta: Decimal, initial_credits: Decimal
) -> Decimal:
    """Add `delta` to one balance; the new balance."""
    return (await change_balances(session, {user_id: delta}, initial_credits))[user_id]
