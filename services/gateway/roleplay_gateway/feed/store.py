"""The feed table and its two operations: append (idempotent) and read after a seq."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "conversation_feed"

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
    """Add a fact's entries once (a redelivered fact adds nothing) and wake the streams."""
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
