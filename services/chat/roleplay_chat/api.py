"""Internal HTTP API of the chat service, called by the gateway (never by clients).

The chat service owns conversations, messages and turns; the gateway answers the public
conversation routes through these. Every route takes the caller's `user_id` and answers 404
for anything that is not theirs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_chat.domain.macros import MacroContext, render
from roleplay_chat.message_events import announce_deleted, announce_edited
from roleplay_chat.store import (
    Conversation,
    Message,
    Turn,
    alternative_stamp,
    message_view,
)
from roleplay_common.changes import Changes
from roleplay_common.events import CharacterCard, SamplerSettings
from roleplay_common.http import ApiError, not_found
from roleplay_common.internal_api import ReadSessionDep, RuntimeDep, SessionDep
from roleplay_common.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page, page
from roleplay_common.text import SafeText

router = APIRouter(prefix="/internal", tags=["internal"])


UserId = Annotated[uuid.UUID, Query(description="The caller; only their data is visible.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


class ConversationCreate(BaseModel):
    id: uuid.UUID | None = Field(default=None, description="Given on idempotent retries.")
    user_id: uuid.UUID
    character: CharacterCard
    persona_id: uuid.UUID | None = None
    persona: CharacterCard | None = Field(
        default=None, description="The persona's card, whose name fills `{{user}}` in greetings."
    )
    scene_template_id: uuid.UUID | None = None
    title: SafeText | None = Field(default=None, max_length=200)
    model: SafeText | None = None


class ConversationUpdate(Changes):
    nullable = frozenset({"persona_id", "model", "current_location", "settings"})

    title: SafeText | None = Field(default=None, min_length=1, max_length=200)
    status: Literal["active", "archived"] | None = None
    persona_id: uuid.UUID | None = None
    model: SafeText | None = None
    current_location: SafeText | None = None
    auto_keep_scenes: bool | None = None
    settings: SamplerSettings | None = Field(
        default=None, description="Merged into the stored settings; a `null` field clears it."
    )


class MessageEdit(BaseModel):
    content: SafeText = Field(min_length=1, max_length=16_000)


class SelectAlternative(BaseModel):
    alternative_index: int = Field(ge=0)


def conversation_view(c: Conversation) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "title": c.title,
        "status": c.status,
        "character_id": str(c.character_id),
        "persona_id": str(c.persona_id) if c.persona_id else None,
        "scene_template_id": str(c.scene_template_id) if c.scene_template_id else None,
        "model": c.model,
        "character": {
            "id": str(c.character_id),
            "name": c.character_name,
            "image_url": c.character_image_url,
        },
        "last_message_preview": c.last_message_preview,
        "last_scene_image": c.last_scene_image,
        "current_location": c.current_location,
        "auto_keep_scenes": c.auto_keep_scenes,
        "settings": dict(c.settings or {}),
        "created_at": c.created_at.isoformat(),
        "updated_at": c.updated_at.isoformat(),
    }


async def owned_conversation(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.user_id != user_id:
        raise not_found("conversation")
    return conversation


async def owned_message(
    session: AsyncSession, message_id: uuid.UUID, user_id: uuid.UUID
) -> Message:
    message = await session.get(Message, message_id, with_for_update=True)
    if message is None or message.user_id != user_id:
        raise not_found("message")
    return message


@router.post("/conversations", status_code=201)
async def create_conversation(body: ConversationCreate, session: SessionDep) -> dict[str, Any]:
    """A new conversation; the character's greeting (with its alternates) opens it."""
    if body.id is not None and (existing := await session.get(Conversation, body.id)):
        if existing.user_id != body.user_id:
            raise ApiError(409, "conflict", "that conversation id is taken")
        return conversation_view(existing)
    character = body.character
    conversation = Conversation(
        id=body.id or uuid.uuid4(),
        user_id=body.user_id,
        character_id=character.id,
        persona_id=body.persona_id,
        scene_template_id=body.scene_template_id,
        title=body.title or f"Chat with {character.name}",
        model=body.model,
        character_name=character.name,
        character_image_url=character.image_url,
    )
    session.add(conversation)
    macros = MacroContext(
        char=character.nickname or character.name,
        user=body.persona.name if body.persona else "User",
        seed=str(conversation.id),
    )
    greetings = [
        render(g, macros) for g in [character.first_message, *character.alternate_greetings] if g
    ]
    if greetings:
        conversation.last_message_preview = greetings[0][:160]
        session.add(
            Message(
                conversation_id=conversation.id,
                user_id=body.user_id,
                sender="assistant",
                message_type="greeting",
                content=greetings[0],
                alternatives=greetings,
                alternative_meta=[alternative_stamp(None) for _ in greetings],
            )
        )
    await session.flush()
    return conversation_view(conversation)


@router.get("/conversations")
async def list_conversations(
    session: SessionDep,
    user_id: UserId,
    status: Literal["active", "archived"] = "active",
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest activity first."""
    stmt = sa.select(Conversation).where(
        col(Conversation.user_id) == user_id, col(Conversation.status) == status
    )
    rows, next_cursor = await keyset_page(
        session,
        stmt,
        col(Conversation.updated_at),
        col(Conversation.id),
        limit=limit,
        cursor=cursor,
    )
    return page([conversation_view(c) for c in rows], next_cursor)


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: uuid.UUID, user_id: UserId, session: ReadSessionDep
) -> dict[str, Any]:
    return conversation_view(await owned_conversation(session, conversation_id, user_id))


@router.patch("/conversations/{conversation_id}")
async def update_conversation(
    conversation_id: uuid.UUID, body: ConversationUpdate, user_id: UserId, session: SessionDep
) -> dict[str, Any]:
    conversation = await owned_conversation(session, conversation_id, user_id)
    changes = body.model_dump(exclude_unset=True)
    if "settings" in changes:
        changes["settings"] = merged_settings(conversation.settings, body.settings)
    for name, value in changes.items():
        setattr(conversation, name, value)
    conversation.updated_at = datetime.now(UTC)
    await session.flush()
    return conversation_view(conversation)


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete_conversation(
    conversation_id: uuid.UUID, user_id: UserId, session: SessionDep
) -> Response:
    conversation = await owned_conversation(session, conversation_id, user_id)
    await session.delete(conversation)
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/messages")
async def list_messages(
    conversation_id: uuid.UUID,
    user_id: UserId,
    session: SessionDep,
    before: uuid.UUID | None = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """The `limit` messages before `before` (default: the newest), oldest first."""
    await owned_conversation(session, conversation_id, user_id)
    stmt = (
        sa.select(Message)
        .where(col(Message.conversation_id) == conversation_id)
        .order_by(col(Message.position).desc())
        .limit(limit + 1)
    )
    if before is not None:
        anchor = await session.get(Message, before)
        if anchor is None or anchor.conversation_id != conversation_id:
            raise ApiError(400, "invalid_cursor", "`before` is not a message of this conversation")
        stmt = stmt.where(col(Message.position) < anchor.position)
    rows = list((await session.execute(stmt)).scalars().all())
    more = len(rows) > limit
    rows = list(reversed(rows[:limit]))
    return page([message_view(m) for m in rows], str(rows[0].id) if more and rows else None)


@router.patch("/messages/{message_id}")
async def edit_message(
    message_id: uuid.UUID,
    body: MessageEdit,
    user_id: UserId,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Edit the message's text (its selected swipe); `chat.message.edited` follows."""
    message = await owned_message(session, message_id, user_id)
    message.content = body.content
    if message.alternatives:
        alternatives = list(message.alternatives)
        alternatives[message.selected_index] = body.content
        message.alternatives = alternatives
    message.updated_at = datetime.now(UTC)
    await session.flush()
    await announce_edited(session, runtime, message)
    return message_view(message)


@router.delete("/messages/{message_id}", status_code=204)
async def delete_message(
    message_id: uuid.UUID, user_id: UserId, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Delete the message; `chat.message.deleted` follows."""
    message = await owned_message(session, message_id, user_id)
    await session.delete(message)
    await session.flush()
    await announce_deleted(session, runtime, message)
    return Response(status_code=204)


@router.post("/messages/{message_id}/select")
async def select_alternative(
    message_id: uuid.UUID, body: SelectAlternative, user_id: UserId, session: SessionDep
) -> dict[str, Any]:
    """Choose which swipe stands: the message's content becomes that alternative."""
    message = await owned_message(session, message_id, user_id)
    alternatives = list(message.alternatives or [message.content])
    if body.alternative_index >= len(alternatives):
        raise ApiError(
            422,
            "invalid_alternative",
            f"the message has {len(alternatives)} alternative(s)",
            {"alternatives_count": len(alternatives)},
        )
    message.selected_index = body.alternative_index
    message.content = alternatives[body.alternative_index]
    message.updated_at = datetime.now(UTC)
    await session.flush()
    return message_view(message)


@router.get("/turns/{turn_id}")
async def get_turn(turn_id: uuid.UUID, user_id: UserId, session: SessionDep) -> dict[str, Any]:
    turn = await session.get(Turn, turn_id)
    if turn is None or turn.user_id != user_id:
        raise not_found("turn")
    message = (
        await session.get(Message, turn.assistant_message_id) if turn.assistant_message_id else None
    )
    return {
        "id": str(turn.id),
        "conversation_id": str(turn.conversation_id),
        "kind": turn.kind,
        "status": turn.status,
        "user_message_id": str(turn.user_message_id) if turn.user_message_id else None,
        "model_key": turn.model_key,
        "deltas": turn.deltas,
        "error": {"code": turn.error_code, "message": turn.error_message}
        if turn.error_code
        else None,
        "message": message_view(message) if message else None,
        "created_at": turn.created_at.isoformat(),
        "finished_at": turn.finished_at.isoformat() if turn.finished_at else None,
    }


def merged_settings(stored: dict[str, Any] | None, given: SamplerSettings | None) -> dict[str, Any]:
    """The stored settings with the given fields applied; a field given as `null` is cleared."""
    merged = dict(stored or {})
    if given is None:
        return {}
    for name, value in given.model_dump(exclude_unset=True).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged
