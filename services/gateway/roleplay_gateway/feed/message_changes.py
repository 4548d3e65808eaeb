"""Edits and deletions of messages, projected into the conversation feed.

`message.edited` carries the message as it now reads, `message.deleted` its id; both carry
the conversation's new `last_message_preview`, so a dashboard can update without a fetch.
"""

from __future__ import annotations

from typing import Any

from roleplay_common.broker import EventRouter
from roleplay_common.events import ChatMessageDeleted, ChatMessageEdited, EventEnvelope
from roleplay_common.service import Runtime
from roleplay_gateway.feed.store import append


def register(router: EventRouter, runtime: Runtime) -> None:
    @router.handles(ChatMessageEdited, consumer="feed")
    async def message_edited(fact: ChatMessageEdited, envelope: EventEnvelope) -> None:
        data = {**fact.message, "last_message_preview": fact.last_message_preview}
        await _project(runtime, envelope, fact, "message.edited", data)

    @router.handles(ChatMessageDeleted, consumer="feed")
    async def message_deleted(fact: ChatMessageDeleted, envelope: EventEnvelope) -> None:
        data = {
            "id": str(fact.message_id),
            "conversation_id": str(fact.conversation_id),
            "last_message_preview": fact.last_message_preview,
        }
        await _project(runtime, envelope, fact, "message.deleted", data)


async def _project(
    runtime: Runtime,
    envelope: EventEnvelope,
    fact: ChatMessageEdited | ChatMessageDeleted,
    name: str,
    data: dict[str, Any],
) -> None:
    async with runtime.db.transaction() as session:
        await append(
            session,
            event_id=envelope.id,
            conversation_id=fact.conversation_id,
            user_id=fact.user_id,
            entries=[(name, data)],
        )
