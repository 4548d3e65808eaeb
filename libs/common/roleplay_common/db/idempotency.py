"""The idempotent-consumer record: one row per (event id, consumer), in the work's transaction.

    async with db.transaction() as session:
        if not await claim_event(session, schema, envelope, consumer="turns"):
            return  # seen before: its effects are already committed
        ... do the work in the same session ...

The claim and the work commit together, so a crash before the commit leaves neither and the
redelivered event is processed in full; a redelivery after the commit is skipped.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.db.plumbing import processed_events_table
from roleplay_common.events import EventEnvelope


async def claim_event(
    session: AsyncSession, schema: str, envelope: EventEnvelope, *, consumer: str
) -> bool:
    """True when this consumer sees the event for the first time (and records it)."""
    table = processed_events_table(schema)
    result = await session.execute(
        insert(table)
        .values(event_id=envelope.id, consumer=consumer, event_type=envelope.type)
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return result.first() is not None
