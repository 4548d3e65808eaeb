"""Conversation tools of the public API: swipe texts, fork, and chat export/import.

The chat service holds the messages (`tools_api.py` there); the gateway checks the caller and
what it owns (characters, personas, the conversation's lorebooks) and speaks SillyTavern's
chat JSONL (`sillytavern.py`).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, UploadFile
from fastapi.responses import Response

from roleplay_common.http import ApiError
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.characters.service import character_card, character_summaries
from roleplay_gateway.conversations import sillytavern
from roleplay_gateway.conversations.endpoints import ChatDep, present
from roleplay_gateway.conversations.schemas import (
    AlternativePublic,
    ConversationPublic,
    ForkRequest,
)
from roleplay_gateway.deps import RuntimeDep, SessionDep
from roleplay_gateway.idempotency import derived_id
from roleplay_gateway.lorebooks.attachments import (
    attach_to_conversation,
    conversation_lorebook_ids,
)
from roleplay_gateway.openapi_document import errors

router = APIRouter(prefix="/v1", tags=["conversations"])

IdempotencyKey = Annotated[str | None, Header(max_length=200)]


@router.get(
    "/messages/{message_id}/alternatives",
    response_model=list[AlternativePublic],
    responses=errors(404),
)
async def list_alternatives(
    message_id: uuid.UUID, user: CurrentUser, chat: ChatDep
) -> list[dict[str, Any]]:
    """Every swipe's text, oldest first; reading them selects none."""
    result: list[dict[str, Any]] = await chat.call(
        "GET", f"/internal/messages/{message_id}/alternatives", user_id=user.id
    )
    return result


@router.post(
    "/conversations/{conversation_id}/fork",
    status_code=201,
    response_model=ConversationPublic,
    responses=errors(404, 409),
)
async def fork_conversation(
    conversation_id: uuid.UUID,
    body: ForkRequest,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    chat: ChatDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """A new conversation (same character, persona, settings and lorebooks) holding copies of
    the history up to and including `message_id`."""
    fork_id = (
        derived_id("fork", user.id, idempotency_key, conversation_id) if idempotency_key else None
    )
    created = await chat.call(
        "POST",
        f"/internal/conversations/{conversation_id}/fork",
        user_id=user.id,
        json={"message_id": str(body.message_id), "id": str(fork_id) if fork_id else None},
    )
    new_id = uuid.UUID(created["id"])
    books = (await conversation_lorebook_ids(session, [conversation_id])).get(conversation_id, [])
    if books:
        await attach_to_conversation(session, user, new_id, [uuid.UUID(str(b)) for b in books])
    summaries = await character_summaries(session, [uuid.UUID(created["character_id"])])
    attached = await conversation_lorebook_ids(session, [new_id])
    return await present(runtime, created, summaries, attached)


@router.get(
    "/conversations/{conversation_id}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The chat in SillyTavern's JSONL: a header line, then one line per "
            "message (`name`, `is_user`, `mes`, `send_date`, `swipes`, `swipe_id`).",
            "content": {"application/jsonl": {"schema": {"type": "string"}}},
        },
        **errors(404),
    },
)
async def export_conversation(
    conversation_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    chat: ChatDep,
    format: Literal["jsonl"] = "jsonl",
) -> Response:
    """The conversation as a SillyTavern chat file."""
    transcript = await chat.call(
        "GET", f"/internal/conversations/{conversation_id}/transcript", user_id=user.id
    )
    conversation = transcript["conversation"]
    character_id = uuid.UUID(conversation["character_id"])
    names = await character_summaries(
        session,
        [
            character_id,
            *([uuid.UUID(conversation["persona_id"])] if conversation["persona_id"] else []),
        ],
    )
    persona = (
        names.get(uuid.UUID(conversation["persona_id"])) if conversation["persona_id"] else None
    )
    character = names.get(character_id) or conversation["character"]
    body = sillytavern.write(
        user_name=persona["name"] if persona else user.username or "You",
        character_name=character["name"],
        created_at=datetime.fromisoformat(conversation["created_at"]),
        messages=transcript["messages"],
    )
    return Response(
        body,
        media_type="application/jsonl",
        headers={
            "Content-Disposition": f'attachment; filename="conversation-{conversation_id}.jsonl"'
        },
    )


@router.post(
    "/conversations/import",
    status_code=201,
    response_model=ConversationPublic,
    responses=errors(404, 413),
)
async def import_conversation(
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    chat: ChatDep,
    file: Annotated[UploadFile, File(description="A SillyTavern chat (`.jsonl`), at most 8 MiB.")],
    character_id: Annotated[uuid.UUID, Form(description="The AI character the chat is with.")],
    persona_id: Annotated[
        uuid.UUID | None, Form(description="Your persona (default: your default persona).")
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """A new conversation holding a SillyTavern chat's messages and swipes. A file that is not
    one, or holds more than 10,000 messages, is a `422` naming the line."""
    data = await file.read(sillytavern.MAX_FILE_BYTES + 1)
    if len(data) > sillytavern.MAX_FILE_BYTES:
        raise ApiError(413, "payload_too_large", "a chat file may be at most 8 MiB")
    try:
        chat_file = await asyncio.to_thread(sillytavern.read, data)
    except sillytavern.ChatFileError as exc:
        raise ApiError(422, "malformed_chat", str(exc)) from exc
    character = await character_card(session, user, character_id, role="ai")
    persona_id = persona_id or user.default_persona_id
    if persona_id is not None:
        await character_card(session, user, persona_id, role="user")
    created = await chat.call(
        "POST",
        "/internal/conversations/import",
        json={
            "id": str(derived_id("conversation-import", user.id, idempotency_key))
            if idempotency_key
            else None,
            "user_id": str(user.id),
            "character": character.model_dump(mode="json"),
            "persona_id": str(persona_id) if persona_id else None,
            "messages": [
                {
                    "sender": "user" if m.is_user else "assistant",
                    "content": m.content,
                    "alternatives": m.swipes,
                    "selected_index": m.swipe_id,
                    "created_at": m.send_date.isoformat() if m.send_date else None,
                }
                for m in chat_file.messages
            ],
        },
    )
    summaries = await character_summaries(session, [character.id])
    return await present(runtime, created, summaries, {})
