"""Admin routes on the services' dead letters (`dlq.<service>` topics), as `roleplay dlq` does.

A redrive republishes the original event to the topic it came from and records the redrive
(`ops.dlq.redrives`); a second redrive of the same dead letter answers `409
already_redriven`, and republishes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from roleplay_common.http import ApiError
from roleplay_common.ops.dead_letters import (
    AlreadyRedriven,
    DeadLetter,
    DeadLetterNotFound,
    list_dead_letters,
    redrive,
)
from roleplay_common.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from roleplay_gateway.auth.dependencies import AdminUser
from roleplay_gateway.deps import RuntimeDep
from roleplay_gateway.openapi_document import errors

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class DeadLetterPublic(BaseModel):
    id: uuid.UUID = Field(
        description="The dead letter's own id (its `system.dead_lettered` event)."
    )
    service: str
    consumer: str
    dead_lettered_at: datetime
    event_id: str = Field(description="The id of the event that was given up on.")
    event_type: str
    key: str
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    error_type: str = Field(description="The exception's class name.")
    error: str
    tries: int = Field(description="Handler tries before giving up (0: refused unread).")
    redriven: bool


ServiceQuery = Annotated[
    str | None,
    Query(pattern=r"^[a-z][a-z0-9_-]{0,40}$", description="Only this service's dead letters."),
]


@router.get("/dead-letters", response_model=Page[DeadLetterPublic], responses=errors(400))
async def dead_letters(
    _: AdminUser,
    runtime: RuntimeDep,
    service: ServiceQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Dead letters of every service (or one), newest first."""
    after = _position(cursor)
    letters = sorted(
        await list_dead_letters(runtime.settings.kafka, service=service),
        key=_order,
        reverse=True,
    )
    if after is not None:
        letters = [d for d in letters if _order(d) < after]
    items = letters[:limit]
    next_cursor = None
    if len(letters) > limit:
        last = items[-1]
        next_cursor = encode_cursor({"t": last.dead_lettered_at.isoformat(), "id": last.id})
    return {"items": [d.summary() for d in items], "next_cursor": next_cursor}


@router.post(
    "/dead-letters/{dead_letter_id}/redrive",
    response_model=DeadLetterPublic,
    responses=errors(409),
)
async def redrive_dead_letter(
    user: AdminUser, runtime: RuntimeDep, dead_letter_id: uuid.UUID
) -> dict[str, Any]:
    """Republish the dead letter's event to its topic, once; `409` when already redriven."""
    try:
        letter = await redrive(runtime.settings.kafka, str(dead_letter_id), by=f"admin:{user.id}")
    except DeadLetterNotFound as exc:
        raise ApiError(404, "not_found", "no such dead letter") from exc
    except AlreadyRedriven as exc:
        raise ApiError(409, "already_redriven", "this dead letter was already redriven") from exc
    return {**letter.summary(), "redriven": True}


def _order(letter: DeadLetter) -> tuple[datetime, str]:
    return letter.dead_lettered_at, letter.id


def _position(cursor: str | None) -> tuple[datetime, str] | None:
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        return datetime.fromisoformat(values["t"]), str(uuid.UUID(values["id"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(400, "invalid_cursor", "the cursor is not valid") from exc
