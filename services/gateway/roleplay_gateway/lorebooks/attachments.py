"""Books attached to conversations. Conversations belong to the chat service; the gateway
keeps which books each one brings, keyed by its id and its owner, and shows them as the
conversation's `lorebook_ids`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_gateway.auth.service import AuthUser
from roleplay_gateway.lorebooks.service import check_visible
from roleplay_gateway.lorebooks.store import ConversationLorebooks


async def conversation_lorebook_ids(
    session: AsyncSession, conversation_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    ids = list(set(conversation_ids))
    if not ids:
        return {}
    rows = (
        await session.execute(
            sa.select(ConversationLorebooks).where(
                col(ConversationLorebooks.conversation_id).in_(ids)
            )
        )
    ).scalars()
    return {r.conversation_id: list(r.lorebook_ids) for r in rows}


async def attach_to_conversation(
    session: AsyncSession,
    user: AuthUser,
    conversation_id: uuid.UUID,
    lorebook_ids: list[uuid.UUID],
) -> None:
    """Replace the conversation's books (the caller owns the conversation: checked by the
    chat service before this is called). Each book must be visible to the caller."""
    await check_visible(session, user, lorebook_ids)
    ids = [str(i) for i in dict.fromkeys(lorebook_ids)]
    stmt = insert(ConversationLorebooks).values(
        conversation_id=conversation_id,
        owner_id=user.id,
        lorebook_ids=ids,
        updated_at=datetime.now(UTC),
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["conversation_id"],
            set_={"lorebook_ids": ids, "updated_at": stmt.excluded.updated_at},
            where=col(ConversationLorebooks.owner_id) == user.id,
        )
    )


async def detach_conversation(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    await session.execute(
        sa.delete(ConversationLorebooks).where(
            col(ConversationLorebooks.conversation_id) == conversation_id
        )
    )
