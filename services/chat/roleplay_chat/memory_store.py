"""The `memory_items` table and its queries.

One row per remembered item, in one of three tiers: `conversation` (of one chat), `character`
(what a character knows about this user across their chats with it) and `profile` (what holds
about the user with every character). A forgotten item stays as a tombstone (`forgotten`), so
re-extraction recognises it by its normalised text and never brings it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from roleplay_chat.domain.memory_recall import MemoryNote
from roleplay_chat.domain.system_prompt import Memory
from roleplay_chat.store import SCHEMA, Conversation

Tier = Literal["conversation", "character", "profile"]
TIERS: tuple[Tier, ...] = ("conversation", "character", "profile")


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryItem(SQLModel, table=True):
    __tablename__ = "memory_items"
    __table_args__ = (
        sa.Index("ix_memory_items_user_tier", "user_id", "tier", "character_id"),
        sa.Index(
            "uq_memory_items_scope_text",
            "user_id",
            "tier",
            "character_id",
            "conversation_id",
            "normalized",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        {"schema": SCHEMA},
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID
    tier: str
    character_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = Field(
        default=None,
        index=True,
        sa_column_args=[sa.ForeignKey(f"{SCHEMA}.conversations.id", ondelete="CASCADE")],
    )
    text: str
    normalized: str
    pinned: bool = False
    forgotten: bool = False
    origin: str = "extracted"
    source_message_ids: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


def memory_view(item: MemoryItem) -> dict[str, Any]:
    """An item as the public API shows it."""
    return {
        "id": str(item.id),
        "tier": item.tier,
        "text": item.text,
        "pinned": item.pinned,
        "character_id": str(item.character_id) if item.character_id else None,
        "conversation_id": str(item.conversation_id) if item.conversation_id else None,
        "source_message_ids": list(item.source_message_ids),
        "origin": item.origin,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


def _scope(
    user_id: uuid.UUID, character_id: uuid.UUID, conversation_id: uuid.UUID
) -> sa.ColumnElement[bool]:
    """Every item a conversation with this character may draw on."""
    return sa.and_(
        col(MemoryItem.user_id) == user_id,
        sa.or_(
            col(MemoryItem.conversation_id) == conversation_id,
            sa.and_(
                col(MemoryItem.tier) == "character",
                col(MemoryItem.character_id) == character_id,
            ),
            col(MemoryItem.tier) == "profile",
        ),
    )


async def items_for_conversation(
    session: AsyncSession,
    user_id: uuid.UUID,
    character_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    with_forgotten: bool = False,
) -> Sequence[MemoryItem]:
    """The items of all three tiers a conversation draws on, oldest first."""
    stmt = sa.select(MemoryItem).where(_scope(user_id, character_id, conversation_id))
    if not with_forgotten:
        stmt = stmt.where(sa.not_(col(MemoryItem.forgotten)))
    return (await session.execute(stmt.order_by(col(MemoryItem.created_at)))).scalars().all()


async def conversation_memory(session: AsyncSession, conversation: Conversation) -> Memory:
    """What a turn of this conversation remembers: its summary and the live items of all
    three tiers (the prompt chooses among them within its budget)."""
    items = await items_for_conversation(
        session, conversation.user_id, conversation.character_id, conversation.id
    )
    return Memory(
        conversation.memory_summary,
        tuple(conversation.memory_facts),
        tuple(MemoryNote(str(i.id), i.tier, i.text, i.pinned) for i in items),
    )
