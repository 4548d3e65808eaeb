"""Memory routes of the public API, answered by the chat service (which owns memory).

The gateway checks the caller and the input, checks a named character is one the caller may
use, and passes the caller's id so the chat service answers 404 for anything not theirs.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from roleplay_common.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.characters.service import character_card
from roleplay_gateway.conversations.endpoints import ChatDep
from roleplay_gateway.deps import SessionDep
from roleplay_gateway.idempotency import derived_id
from roleplay_gateway.memory.schemas import (
    ConversationMemory,
    MemoryCreate,
    MemoryEdit,
    MemoryItemPublic,
    Tier,
)
from roleplay_gateway.openapi_document import errors

router = APIRouter(prefix="/v1", tags=["memory"])


@router.get(
    "/conversations/{conversation_id}/memory",
    response_model=ConversationMemory,
    responses=errors(404),
)
async def conversation_memory(
    conversation_id: uuid.UUID, user: CurrentUser, chat: ChatDep
) -> dict[str, Any]:
    """The summary and the items of every tier this conversation draws on."""
    result: dict[str, Any] = await chat.call(
        "GET", f"/internal/conversations/{conversation_id}/memory", user_id=user.id
    )
    return result


@router.get("/memory", response_model=Page[MemoryItemPublic], responses=errors(422))
async def list_memory(
    user: CurrentUser,
    chat: ChatDep,
    tier: Tier,
    character_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = Query(default=None, max_length=500),
) -> dict[str, Any]:
    """One tier's items, most recently changed first."""
    result: dict[str, Any] = await chat.call(
        "GET",
        "/internal/memory",
        user_id=user.id,
        params={
            "tier": tier,
            "character_id": character_id,
            "conversation_id": conversation_id,
            "limit": limit,
            "cursor": cursor,
        },
    )
    return result


@router.post(
    "/memory", status_code=201, response_model=MemoryItemPublic, responses=errors(404, 409, 422)
)
async def add_memory(
    body: MemoryCreate,
    user: CurrentUser,
    session: SessionDep,
    chat: ChatDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Remember something by hand (it may be pinned at once)."""
    if body.character_id is not None:
        await character_card(session, user, body.character_id, role="ai")
    result: dict[str, Any] = await chat.call(
        "POST",
        "/internal/memory",
        json={
            **body.model_dump(mode="json"),
            "user_id": str(user.id),
            "id": str(derived_id("memory", user.id, idempotency_key)) if idempotency_key else None,
        },
    )
    return result


@router.patch("/memory/{item_id}", response_model=MemoryItemPublic, responses=errors(404, 409, 422))
async def edit_memory(
    item_id: uuid.UUID, body: MemoryEdit, user: CurrentUser, chat: ChatDep
) -> dict[str, Any]:
    """Correct an item's text, or pin or unpin it."""
    result: dict[str, Any] = await chat.call(
        "PATCH",
        f"/internal/memory/{item_id}",
        user_id=user.id,
        json=body.model_dump(mode="json", exclude_unset=True),
    )
    return result


@router.delete("/memory/{item_id}", status_code=204, responses=errors(404))
async def forget_memory(item_id: uuid.UUID, user: CurrentUser, chat: ChatDep) -> Response:
    """Forget an item: it leaves every prompt, and extraction never brings it back."""
    await chat.call("DELETE", f"/internal/memory/{item_id}", user_id=user.id)
    return Response(status_code=204)
