"""Internal HTTP API of memory: what each tier holds, and the user's corrections.

`GET /conversations/{id}/memory` (the summary and every live item the conversation draws on),
`GET /memory?tier&character_id&conversation_id`, `POST /memory`, `PATCH|DELETE /memory/{id}`.
Every route takes the caller's `user_id` and answers 404 for anything that is not theirs.
Forgetting keeps the row as a tombstone, so re-extraction never brings the item back (editing
keeps the old text as one too); adding the same text by hand revives it. Changes to a
conversation's memory publish `chat.memory.updated`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_chat.domain.memory import MAX_ITEM_CHARS, normalize
from roleplay_chat.memory_store import MemoryItem, Tier, items_for_conversation, memory_view
from roleplay_chat.store import Conversation
from roleplay_common.changes import Changes
from roleplay_common.db import add_to_outbox
from roleplay_common.events import MemoryUpdated
from roleplay_common.http import ApiError, not_found
from roleplay_common.internal_api import ReadSessionDep, SessionDep
from roleplay_common.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page, page
from roleplay_common.service import Runtime
from roleplay_common.text import SafeText

router = APIRouter(prefix="/internal", tags=["internal"])

UserId = Annotated[uuid.UUID, Query(description="The caller; only their data is visible.")]


class MemoryCreate(BaseModel):
    id: uuid.UUID | None = Field(default=None, description="Given on idempotent retries.")
    user_id: uuid.UUID
    tier: Tier
    text: SafeText = Field(min_length=1, max_length=MAX_ITEM_CHARS)
    character_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    pinned: bool = False


class MemoryEdit(Changes):
    text: SafeText | None = Field(default=None, min_length=1, max_length=MAX_ITEM_CHARS)
    pinned: bool | None = None


async def _owned_conversation(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.user_id != user_id:
        raise not_found("conversation")
    return conversation


async def _owned_item(session: AsyncSession, item_id: uuid.UUID, user_id: uuid.UUID) -> MemoryItem:
    item = await session.get(MemoryItem, item_id, with_for_update=True)
    if item is None or item.user_id != user_id or item.forgotten:
        raise not_found("memory item")
    return item


async def _same_text(
    session: AsyncSession,
    user_id: uuid.UUID,
    tier: str,
    character_id: uuid.UUID | None,
    conversation_id: uuid.UUID | None,
    key: str,
) -> MemoryItem | None:
    """The row (live or tombstone) holding this normalised text in this scope, locked."""
    found = await session.execute(
        sa.select(MemoryItem)
        .where(
            col(MemoryItem.user_id) == user_id,
            col(MemoryItem.tier) == tier,
            col(MemoryItem.character_id).is_not_distinct_from(character_id),
            col(MemoryItem.conversation_id).is_not_distinct_from(conversation_id),
            col(MemoryItem.normalized) == key,
        )
        .with_for_update()
    )
    return found.scalars().first()


async def _announce(request: Request, session: AsyncSession, item: MemoryItem) -> None:
    """A conversation-tier change reaches that conversation's event stream."""
    if item.conversation_id is None:
        return
    runtime: Runtime = request.app.state.turns.runtime
    await add_to_outbox(
        session,
        runtime.schema,
        runtime.topics,
        runtime.envelope(
            MemoryUpdated(
                conversation_id=item.conversation_id, user_id=item.user_id, item_ids=[item.id]
            )
        ),
    )


@router.get("/conversations/{conversation_id}/memory")
async def conversation_memory(
    conversation_id: uuid.UUID, user_id: UserId, session: ReadSessionDep
) -> dict[str, Any]:
    conversation = await _owned_conversation(session, conversation_id, user_id)
    items = await items_for_conversation(
        session, user_id, conversation.character_id, conversation_id
    )
    return {
        "conversation_id": str(conversation_id),
        "summary": conversation.memory_summary,
        "items": [memory_view(i) for i in items],
    }


@router.get("/memory")
async def list_memory(
    user_id: UserId,
    session: ReadSessionDep,
    tier: Tier,
    character_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """A tier's live items, newest change first."""
    stmt = sa.select(MemoryItem).where(
        col(MemoryItem.user_id) == user_id,
        col(MemoryItem.tier) == tier,
        sa.not_(col(MemoryItem.forgotten)),
    )
    if character_id is not None:
        stmt = stmt.where(col(MemoryItem.character_id) == character_id)
    if conversation_id is not None:
        stmt = stmt.where(col(MemoryItem.conversation_id) == conversation_id)
    rows, next_cursor = await keyset_page(
        session,
        stmt,
        col(MemoryItem.updated_at),
        col(MemoryItem.id),
        limit=limit,
        cursor=cursor,
    )
    return page([memory_view(i) for i in rows], next_cursor)


@router.post("/memory", status_code=201)
async def add_memory(body: MemoryCreate, request: Request, session: SessionDep) -> dict[str, Any]:
    """Remember something by hand. A conversation-tier item needs `conversation_id`, a
    character-tier one `character_id` (or a conversation, whose character it takes)."""
    if body.id is not None:
        known = await session.get(MemoryItem, body.id)
        if known is not None:
            if known.user_id != body.user_id:
                raise ApiError(409, "conflict", "this idempotency key was used for another item")
            return memory_view(known)
    character_id, conversation_id = body.character_id, None
    if body.conversation_id is not None:
        conversation = await _owned_conversation(session, body.conversation_id, body.user_id)
        character_id = character_id or conversation.character_id
        conversation_id = conversation.id if body.tier == "conversation" else None
    if body.tier == "conversation" and conversation_id is None:
        raise ApiError(422, "invalid_memory", "a conversation memory needs `conversation_id`")
    if body.tier == "character" and character_id is None:
        raise ApiError(422, "invalid_memory", "a character memory needs `character_id`")
    if body.tier == "profile":
        character_id = None
    key = normalize(body.text)
    if not key:
        raise ApiError(422, "invalid_memory", "the text has no words")
    same = await _same_text(session, body.user_id, body.tier, character_id, conversation_id, key)
    now = datetime.now(UTC)
    if same is not None:  # a tombstone or a live twin: this is the same memory, now the user's
        same.text, same.forgotten, same.origin, same.updated_at = body.text, False, "user", now
        same.pinned = same.pinned or body.pinned
        item = same
    else:
        item = MemoryItem(
            id=body.id or uuid.uuid4(),
            user_id=body.user_id,
            tier=body.tier,
            character_id=character_id,
            conversation_id=conversation_id,
            text=body.text,
            normalized=key,
            pinned=body.pinned,
            origin="user",
        )
        session.add(item)
    await session.flush()
    await _announce(request, session, item)
    return memory_view(item)


@router.patch("/memory/{item_id}")
async def edit_memory(
    item_id: uuid.UUID, body: MemoryEdit, user_id: UserId, request: Request, session: SessionDep
) -> dict[str, Any]:
    item = await _owned_item(session, item_id, user_id)
    changes = body.changes()
    if "text" in changes:
        key = normalize(changes["text"])
        if not key:
            raise ApiError(422, "invalid_memory", "the text has no words")
        if key != item.normalized:
            twin = await _same_text(
                session, item.user_id, item.tier, item.character_id, item.conversation_id, key
            )
            if twin is not None and not twin.forgotten:
                raise ApiError(
                    409, "already_remembered", "another item says this", {"id": str(twin.id)}
                )
            if twin is not None:  # forgotten once, true again now that the user says so
                await session.delete(twin)
            old_text, old_key = item.text, item.normalized
            item.text, item.normalized = changes["text"], key
            await session.flush()
            # The old text stays as a tombstone: a correction is not undone by re-extraction.
            await session.execute(
                insert(MemoryItem)
                .values(
                    MemoryItem(
                        user_id=item.user_id,
                        tier=item.tier,
                        character_id=item.character_id,
                        conversation_id=item.conversation_id,
                        text=old_text,
                        normalized=old_key,
                        forgotten=True,
                        origin=item.origin,
                        source_message_ids=list(item.source_message_ids),
                    ).model_dump()
                )
                .on_conflict_do_nothing()
            )
        item.text, item.origin = changes["text"], "user"
    if "pinned" in changes:
        item.pinned = changes["pinned"]
    item.updated_at = datetime.now(UTC)
    await session.flush()
    await _announce(request, session, item)
    return memory_view(item)


@router.delete("/memory/{item_id}", status_code=204)
async def forget_memory(
    item_id: uuid.UUID, user_id: UserId, request: Request, session: SessionDep
) -> Response:
    """Forget: the row stays as a tombstone that extraction recognises and never revives."""
    item = await _owned_item(session, item_id, user_id)
    item.forgotten, item.pinned, item.updated_at = True, False, datetime.now(UTC)
    await session.flush()
    await _announce(request, session, item)
    return Response(status_code=204)
