"""The feed table and its two operations: append (idempotent) and read after a seq.

`seq` comes from one identity sequence, drawn when a row is inserted but visible only when its
transaction commits. Were two appends to one conversation free to run at once, the later `seq`
could commit first, a reader would move past it, and the earlier one would appear behind the
reader's position: skipped for good. So an append first takes a transaction-scoped lock on its
conversation: appends to one conversation commit one after another, each drawing its `seq`
after the previous one committed, and a conversation's rows become visible in `seq` order. A
reader's position therefore never passes a `seq` still to appear. Other conversations are not
held up.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "conversation_feed"
FEED_LOCK_SALT = 0x0FEED

feed = sa.Table(
    "conversation_feed",
    sa.MetaData(schema="catalog"),
    sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("conversation_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("data", pg.JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
)


async def append(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    conversation_id: uuid.UUID,
    user_id: uuid.UUID,
    entries: list[tuple[str, dict[str, Any]]],
) -> None:
    """Add a fact's entries once (a redelivered fact adds nothing) and wake the streams.

    Holds the conversation's feed lock until the caller's transaction ends: commit soon.
    """
    # A lock held by a connection that went astray must not stall the projector for good.
    await session.execute(sa.text(f"set local lock_timeout = '{LOCK_TIMEOUT}'"))
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(conversation_id))))
    await session.execute(
        insert(feed)
        .values(
            [
                {
                    "event_id": event_id,
                    "name": name,
                    "conversation_id": conversation_id,
                    "user_id": user_id,
                    "data": data,
                }
                for name, data in entries
            ]
        )
        .on_conflict_do_nothing(constraint="uq_conversation_feed_event")
    )
    await session.execute(sa.select(sa.func.pg_notify(CHANNEL, str(conversation_id))))


LOCK_TIMEOUT = "5s"


def _lock_key(conversation_id: uuid.UUID) -> int:
    """The conversation's lock id: a signed 64-bit number from its UUID (a collision only
    makes two conversations take turns)."""
    return int.from_bytes(conversation_id.bytes[:8], "big", signed=True) ^ FEED_LOCK_SALT


async def read_after(
    session: AsyncSession, conversation_id: uuid.UUID, after: int, limit: int = 200
) -> list[Any]:
    return list(
        (
            await session.execute(
                sa.select(feed.c.seq, feed.c.name, feed.c.data)
                .where(feed.c.conversation_id == conversation_id, feed.c.seq > after)
                .order_by(feed.c.seq)
                .limit(limit)
            )
        ).all()
    )
