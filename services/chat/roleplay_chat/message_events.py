"""Facts of a message changed by its owner: an edit or a deletion.

Each is written through the outbox in the transaction of the change, with the conversation's
preview recomputed from its newest message (the dashboard shows it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_chat.store import (
    PREVIEW_CHARS,
    Message,
    get_conversation,
    message_view,
    newest_message,
)
from roleplay_common.db import add_to_outbox
from roleplay_common.events import ChatMessageDeleted, ChatMessageEdited, Event
from roleplay_common.service import Runtime


async def refresh_preview(session: AsyncSession, message: Message) -> str:
    """Set the conversation's preview from its newest message and return it."""
    conversation = await get_conversation(session, message.conversation_id, lock=True)
    if conversation is None:
        return ""
    newest = await newest_message(session, message.conversation_id)
    conversation.last_message_preview = newest.content[:PREVIEW_CHARS] if newest else ""
    conversation.updated_at = datetime.now(UTC)
    await session.flush()
    return conversation.last_message_preview


async def announce_edited(session: AsyncSession, runtime: Runtime, message: Message) -> None:
    preview = await refresh_preview(session, message)
    await _emit(
        session,
        runtime,
        ChatMessageEdited(
            conversation_id=message.conversation_id,
            user_id=message.user_id,
            message_id=message.id,
            last_message_preview=preview,
            message=message_view(message),
        ),
    )


async def announce_deleted(session: AsyncSession, runtime: Runtime, message: Message) -> None:
    preview = await refresh_preview(session, message)
    await _emit(
        session,
        runtime,
        ChatMessageDeleted(
            conversation_id=message.conversation_id,
            user_id=message.user_id,
            message_id=message.id,
            last_message_preview=preview,
        ),
    )


async def _emit(session: AsyncSession, runtime: Runtime, fact: Event) -> None:
    await add_to_outbox(session, runtime.schema, runtime.topics, runtime.envelope(fact))
