"""Counting a batch of `usage.recorded` calls: exactly once, in one transaction.

1. Insert one log row per event id; `ON CONFLICT DO NOTHING RETURNING` tells which events are
   new. A redelivered, replayed or re-consumed event inserts nothing and so counts nothing.
2. Add the new calls to their hour and day aggregates (`INSERT … ON CONFLICT DO UPDATE SET
   x = x + excluded.x`, histograms element-wise): atomic per row, so two consumers adding to
   the same provider/model/hour never lose an increment.
3. Debit each user's balance by the new calls' cost and queue `usage.balance.changed` through
   the outbox.

The Kafka offset is committed after this transaction, so a crash in between only means the
batch is read again — and step 1 makes that a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.db import add_to_outbox
from roleplay_common.events import EventEnvelope, UsageBalanceChanged, UsageRecorded
from roleplay_common.service import Runtime
from roleplay_usage import store
from roleplay_usage.domain.aggregates import debits, totals_by_bucket

Call = tuple[UsageRecorded, EventEnvelope]


async def ingest(runtime: Runtime, batch: Sequence[Call], *, initial_credits: Decimal) -> int:
    """Count a batch of calls, each event once; returns how many events were new."""
    calls = {envelope.id: (call, envelope) for call, envelope in batch}  # copies count once
    if not calls:
        return 0
    async with runtime.db.transaction() as session:
        new_ids = await store.insert_logs(session, {i: call for i, (call, _) in calls.items()})
        new = [pair for i, pair in calls.items() if i in new_ids]
        await store.add_to_aggregates(session, totals_by_bucket(call for call, _ in new))
        await _debit_balances(runtime, session, new, initial_credits)
    return len(new)


async def _debit_balances(
    runtime: Runtime, session: AsyncSession, new: Sequence[Call], initial_credits: Decimal
) -> None:
    """Debit the new calls' cost and announce each changed balance (caused by the user's last
    call of the batch)."""
    owed = debits(call for call, _ in new)
    after = await store.change_balances(session, owed, initial_credits)
    last_call: dict[UUID, EventEnvelope] = {call.user_id: envelope for call, envelope in new}
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
                    reference_id=str(last_call[user_id].id),
                    occurred_at=now,
                ),
                causation=last_call[user_id],
            )
            for user_id, delta in sorted(owed.items())
        ),
    )
