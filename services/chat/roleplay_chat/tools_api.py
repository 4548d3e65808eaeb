"""Internal routes of the conversation tools: swipe texts, fork, transcript and import.

Like `api.py`, every route takes the caller's `user_id` and answers 404 for what is not theirs.
The gateway turns transcripts into SillyTavern's chat JSONL and back (`conversations/
sillytavern.py` there); here they are plain messages.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import col

from roleplay_chat.api import (
    UserId,
    conversation_view,
    owned_conversation,
    owned_message,
)
from roleplay_chat.store import MESSAGES, PREVIEW_CHARS, Conversation, Message
from roleplay_common.events import CharacterCard
from roleplay_common.http import ApiError
from roleplay_common.internal_api import ReadSessionDep, SessionDep
from roleplay_common.text import SafeText

router = APIRouter(prefix="/internal", tags=["internal"])

MAX_TRANSCRIPT_MESSAGES = 10_000


class Alternative(BaseModel):
    index: int
    content: str
    created_at: datetime
    model: str | None


class ForkRequest(BaseModel):
    message_id: uuid.UUID
    id: uuid.UUID | None = Field(default=None, description="Given on idempotent retries.")


class TranscriptMessage(BaseModel):
    sender: Literal["user", "assistant"]
    content: str = Field(max_length=16_000)
    alternatives: list[str] = Field(default_factory=list, max_length=100)
    selected_index: int = Field(default=0, ge=0)
    created_at: datetime | None = None


class ConversationImport(BaseModel):
    id: uuid.UUID | None = Field(default=None, description="Given on idempotent retries.")
    user_id: uuid.UUID
    character: CharacterCard
    persona_id: uuid.UUID | None = None
    title: SafeText | None = Field(default=None, max_length=200)
    messages: list[TranscriptMessage] = Field(max_length=MAX_TRANSCRIPT_MESSAGES)


@router.get("/messages/{message_id}/alternatives")
async def alternatives(
    message_id: uuid.UUID, user_id: UserId, session: ReadSessionDep
) -> list[Alternative]:
    """Every swipe's text, oldest first, without selecting any."""
    message = await session.get(Message, message_id)
    if message is None or message.user_id != user_id:
        raise ApiError(404, "not_found", "message not found")
    texts = list(message.alternatives or [message.content])
    meta = list(message.alternative_meta or [])
    out = []
    for index, text in enumerate(texts):
        stamp = meta[index] if index < len(meta) else {}
        created = stamp.get("created_at")
        out.append(
            Alternative(
                index=index,
                content=text,
                created_at=datetime.fromisoformat(created) if created else message.created_at,
                model=stamp.get("model"),
            )
        )
    return out


@router.post("/conversations/{conversation_id}/fork", status_code=201)
async def fork(
    conversation_id: uuid.UUID, body: ForkRequest, user_id: UserId, session: SessionDep
) -> dict[str, Any]:
    """A new conversation with the same character, persona and settings, holding copies of the
    history up to and including `message_id`."""
    source = await owned_conversation(session, conversation_id, user_id)
    if body.id is not None and (existing := await session.get(Conversation, body.id)):
        if existing.user_id != user_id:
            raise ApiError(409, "conflict", "that conversation id is taken")
        return conversation_view(existing)
    anchor = await owned_message(session, body.message_id, user_id)
    if anchor.conversation_id != conversation_id:
        raise ApiError(422, "invalid_message", "the message does not belong to this conversation")
    now = datetime.now(UTC)
    copy = Conversation(
        id=body.id or uuid.uuid4(),
        user_id=user_id,
        character_id=source.character_id,
        persona_id=source.persona_id,
        scene_template_id=source.scene_template_id,
        title=f"{source.title} (fork)"[:200],
        model=source.model,
        character_name=source.character_name,
        character_image_url=source.character_image_url,
        current_location=source.current_location,
        auto_keep_scenes=source.auto_keep_scenes,
        settings=dict(source.settings or {}),
        last_message_preview=anchor.content[:PREVIEW_CHARS],
        created_at=now,
        updated_at=now,
    )
    session.add(copy)
    await session.flush()
    copied = [
        MESSAGES.c[name]
        for name in (
            "user_id",
            "sender",
            "message_type",
            "content",
            "alternatives",
            "selected_index",
            "alternative_meta",
            "created_at",
            "updated_at",
        )
    ]
    # One statement, in the original order: positions of the copies follow it.
    await session.execute(
        sa.insert(MESSAGES).from_select(
            ["id", "conversation_id", *(c.name for c in copied), "scene_ids"],
            sa.select(
                sa.func.gen_random_uuid(),
                sa.literal(copy.id, MESSAGES.c.conversation_id.type),
                *copied,
                sa.literal([], MESSAGES.c.scene_ids.type),
            )
            .where(
                MESSAGES.c.conversation_id == conversation_id,
                MESSAGES.c.position <= anchor.position,
            )
            .order_by(MESSAGES.c.position),
        )
    )
    return conversation_view(copy)


@router.get("/conversations/{conversation_id}/transcript")
async def transcript(
    conversation_id: uuid.UUID, user_id: UserId, session: ReadSessionDep
) -> dict[str, Any]:
    """The conversation and its messages (at most `MAX_TRANSCRIPT_MESSAGES`, the oldest)."""
    conversation = await owned_conversation(session, conversation_id, user_id)
    rows = (
        (
            await session.execute(
                sa.select(Message)
                .where(col(Message.conversation_id) == conversation_id)
                .order_by(col(Message.position))
                .limit(MAX_TRANSCRIPT_MESSAGES)
            )
        )
        .scalars()
        .all()
    )
    return {
        "conversation": conversation_view(conversation),
        "messages": [
            {
                "sender": m.sender,
                "content": m.content,
                "alternatives": list(m.alternatives),
                "selected_index": m.selected_index,
                "created_at": m.created_at.isoformat(),
            }
            for m in rows
        ],
    }


@router.post("/conversations/import", status_code=201)
async def import_conversation(body: ConversationImport, session: SessionDep) -> dict[str, Any]:
    """A conversation holding the given messages, in order."""
    if body.id is not None and (existing := await session.get(Conversation, body.id)):
        if existing.user_id != body.user_id:
            raise ApiError(409, "conflict", "that conversation id is taken")
        return conversation_view(existing)
    character = body.character
    now = datetime.now(UTC)
    conversation = Conversation(
        id=body.id or uuid.uuid4(),
        user_id=body.user_id,
        character_id=character.id,
        persona_id=body.persona_id,
        title=body.title or f"Chat with {character.name} (imported)",
        character_name=character.name,
        character_image_url=character.image_url,
        last_message_preview=body.messages[-1].content[:PREVIEW_CHARS] if body.messages else "",
        created_at=now,
        updated_at=now,
    )
    session.add(conversation)
    await session.flush()
    rows = []
    for m in body.messages:
        texts = m.alternatives if m.sender == "assistant" and m.alternatives else []
        selected = m.selected_index if m.selected_index < len(texts) else 0
        created = m.created_at or now
        rows.append(
            {
                "id": uuid.uuid4(),
                "conversation_id": conversation.id,
                "user_id": body.user_id,
                "sender": m.sender,
                "message_type": "imported",
                "content": texts[selected] if texts else m.content,
                "alternatives": texts or ([m.content] if m.sender == "assistant" else []),
                "selected_index": selected,
                "alternative_meta": [
                    {"created_at": created.isoformat(), "model": None} for _ in texts
                ],
                "scene_ids": [],
                "created_at": created,
                "updated_at": created,
            }
        )
    # Multi-row statements in the file's order, so positions follow it (within the
    # database's limit of bound parameters per statement).
    for start in range(0, len(rows), 2_000):
        await session.execute(sa.insert(MESSAGES).values(rows[start : start + 2_000]))
    return conversation_view(conversation)
