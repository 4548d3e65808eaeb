"""Conversation and message routes of the public API, answered by the chat service.

The chat service owns conversations and messages; the gateway checks the caller, validates
input, adds what it owns (the character's current name and portrait, the persona, signed
thumbnail URLs) and passes the caller's id so the chat service answers 404 for anything that
is not theirs.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from roleplay_common.changes import Changes
from roleplay_common.events import SamplerSettings
from roleplay_common.http import ApiError
from roleplay_common.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from roleplay_common.service import Runtime
from roleplay_common.storage import USER_LIBRARY
from roleplay_common.text import SafeText
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.characters.service import (
    character_card,
    character_summaries,
    scene_template_card,
)
from roleplay_gateway.conversations.schemas import ConversationPublic, MessagePublic
from roleplay_gateway.deps import RuntimeDep, SessionDep
from roleplay_gateway.idempotency import derived_id
from roleplay_gateway.internal_client import InternalClient
from roleplay_gateway.lorebooks.attachments import (
    attach_to_conversation,
    conversation_lorebook_ids,
    detach_conversation,
)
from roleplay_gateway.openapi_document import errors

router = APIRouter(prefix="/v1", tags=["conversations"])


async def get_chat(request: Request) -> InternalClient:
    client: InternalClient = request.app.state.chat
    return client


ChatDep = Annotated[InternalClient, Depends(get_chat)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


class ConversationCreate(BaseModel):
    character_id: uuid.UUID
    persona_id: uuid.UUID | None = None
    scene_template_id: uuid.UUID | None = None
    title: SafeText | None = Field(default=None, min_length=1, max_length=200)


class ConversationUpdate(Changes):
    nullable = frozenset({"persona_id", "model", "settings"})

    title: SafeText | None = Field(default=None, min_length=1, max_length=200)
    status: Literal["active", "archived"] | None = None
    persona_id: uuid.UUID | None = None
    model: SafeText | None = Field(default=None, min_length=1, max_length=200)
    auto_keep_scenes: bool | None = Field(
        default=None, description="Keep every scene of this conversation in the library."
    )
    lorebook_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=20, description="The books this conversation brings (replaced)."
    )
    settings: SamplerSettings | None = Field(
        default=None,
        description="Sampler settings, merged into the stored ones: a field given as `null` "
        "falls back to the character's default; `settings: null` clears them all.",
    )


class MessageEdit(BaseModel):
    content: SafeText = Field(min_length=1, max_length=16_000)


class SelectAlternative(BaseModel):
    alternative_index: int = Field(ge=0)


async def signed_thumbnail(runtime: Runtime, image: dict[str, Any] | None) -> str | None:
    """A signed URL of the conversation's last scene thumbnail, for its owner only."""
    if not image:
        return None
    key = image.get("thumbnail_key") or image.get("key")
    if not key:
        return None
    return await runtime.storage.signed_url(str(image.get("bucket") or USER_LIBRARY), str(key))


async def present(
    runtime: Runtime,
    conversation: dict[str, Any],
    characters: dict[uuid.UUID, dict[str, Any]],
    lorebooks: dict[uuid.UUID, list[str]],
) -> dict[str, Any]:
    character_id = uuid.UUID(conversation["character_id"])
    out = dict(conversation)
    out["lorebook_ids"] = lorebooks.get(uuid.UUID(conversation["id"]), [])
    out["character"] = characters.get(character_id, conversation["character"])
    out["last_scene_image_url"] = await signed_thumbnail(runtime, out.pop("last_scene_image"))
    return out


@router.post(
    "/conversations",
    status_code=201,
    response_model=ConversationPublic,
    responses=errors(404, 409),
)
async def create_conversation(
    body: ConversationCreate,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    chat: ChatDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Start a conversation with a character; its greeting is the first message."""
    character = await character_card(session, user, body.character_id, role="ai")
    persona_id = body.persona_id or user.default_persona_id
    persona = (
        await character_card(session, user, persona_id, role="user")
        if persona_id is not None
        else None
    )
    if body.scene_template_id is not None:
        await scene_template_card(session, user, body.scene_template_id)
    created = await chat.call(
        "POST",
        "/internal/conversations",
        json={
            "id": str(derived_id("conversation", user.id, idempotency_key))
            if idempotency_key
            else None,
            "user_id": str(user.id),
            "character": character.model_dump(mode="json"),
            "persona_id": str(persona_id) if persona_id else None,
            "persona": persona.model_dump(mode="json") if persona else None,
            "scene_template_id": str(body.scene_template_id) if body.scene_template_id else None,
            "title": body.title,
        },
    )
    summaries = await character_summaries(session, [character.id])
    return await present(runtime, created, summaries, {})


@router.get("/conversations", response_model=Page[ConversationPublic])
async def list_conversations(
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    chat: ChatDep,
    status: Literal["active", "archived"] = "active",
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = Query(default=None, max_length=500),
) -> dict[str, Any]:
    """The dashboard's "continue" list, newest activity first."""
    result = await chat.call(
        "GET",
        "/internal/conversations",
        user_id=user.id,
        params={"status": status, "limit": limit, "cursor": cursor},
    )
    ids = list({uuid.UUID(c["character_id"]) for c in result["items"]})
    summaries = await character_summaries(session, ids)
    books = await conversation_lorebook_ids(session, (uuid.UUID(c["id"]) for c in result["items"]))
    items = [await present(runtime, c, summaries, books) for c in result["items"]]
    return {"items": items, "next_cursor": result["next_cursor"]}


@router.get("/conversations/{conversation_id}", response_model=ConversationPublic)
async def get_conversation(
    conversation_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    chat: ChatDep,
) -> dict[str, Any]:
    conversation = await chat.call(
        "GET", f"/internal/conversations/{conversation_id}", user_id=user.id
    )
    summaries = await character_summaries(session, [uuid.UUID(conversation["character_id"])])
    books = await conversation_lorebook_ids(session, [conversation_id])
    return await present(runtime, conversation, summaries, books)


@router.patch("/conversations/{conversation_id}", response_model=ConversationPublic)
async def update_conversation(
    conversation_id: uuid.UUID,
    body: ConversationUpdate,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    chat: ChatDep,
) -> dict[str, Any]:
    changes = body.model_dump(mode="json", exclude_unset=True)
    if body.settings is not None:  # only the fields the client sent, nulls included
        changes["settings"] = body.settings.model_dump(mode="json", exclude_unset=True)
    lorebook_ids = changes.pop("lorebook_ids", None)
    if body.persona_id is not None:
        await character_card(session, user, body.persona_id, role="user")
    if not changes and lorebook_ids is None:
        raise ApiError(422, "validation_error", "nothing to change")
    path = f"/internal/conversations/{conversation_id}"
    if changes:
        conversation = await chat.call("PATCH", path, user_id=user.id, json=changes)
    else:  # only the books: the chat service still says whether the conversation is theirs
        conversation = await chat.call("GET", path, user_id=user.id)
    if body.lorebook_ids is not None:
        await attach_to_conversation(session, user, conversation_id, body.lorebook_ids)
    summaries = await character_summaries(session, [uuid.UUID(conversation["character_id"])])
    books = await conversation_lorebook_ids(session, [conversation_id])
    return await present(runtime, conversation, summaries, books)


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete_conversation(
    conversation_id: uuid.UUID, user: CurrentUser, session: SessionDep, chat: ChatDep
) -> Response:
    await chat.call("DELETE", f"/internal/conversations/{conversation_id}", user_id=user.id)
    await detach_conversation(session, conversation_id)
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/messages", response_model=Page[MessagePublic])
async def list_messages(
    conversation_id: uuid.UUID,
    user: CurrentUser,
    chat: ChatDep,
    before: uuid.UUID | None = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Oldest first; `before` pages back through older messages."""
    result: dict[str, Any] = await chat.call(
        "GET",
        f"/internal/conversations/{conversation_id}/messages",
        user_id=user.id,
        params={"before": str(before) if before else None, "limit": limit},
    )
    return result


@router.patch("/messages/{message_id}", response_model=MessagePublic)
async def edit_message(
    message_id: uuid.UUID, body: MessageEdit, user: CurrentUser, chat: ChatDep
) -> dict[str, Any]:
    result: dict[str, Any] = await chat.call(
        "PATCH", f"/internal/messages/{message_id}", user_id=user.id, json=body.model_dump()
    )
    return result


@router.delete("/messages/{message_id}", status_code=204)
async def delete_message(message_id: uuid.UUID, user: CurrentUser, chat: ChatDep) -> Response:
    await chat.call("DELETE", f"/internal/messages/{message_id}", user_id=user.id)
    return Response(status_code=204)


@router.post("/messages/{message_id}/select", response_model=MessagePublic)
async def select_alternative(
    message_id: uuid.UUID, body: SelectAlternative, user: CurrentUser, chat: ChatDep
) -> dict[str, Any]:
    result: dict[str, Any] = await chat.call(
        "POST", f"/internal/messages/{message_id}/select", user_id=user.id, json=body.model_dump()
    )
    return result
