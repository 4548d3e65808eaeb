"""Lorebook routes of the public API (contract: `api.md`, Lorebooks)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, File, Header, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlmodel import col

from roleplay_common.content_disposition import attachment
from roleplay_common.http import ApiError
from roleplay_common.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page, page
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.characters.cards.errors import MalformedCardError
from roleplay_gateway.characters.cards.reading import json_object
from roleplay_gateway.deps import SessionDep
from roleplay_gateway.idempotency import new_or_derived_id
from roleplay_gateway.import_warnings import ImportWarnings, file_stem
from roleplay_gateway.lorebooks.card_books import (
    BookData,
    MalformedLorebookError,
    lorebook_v3,
    with_ids,
)
from roleplay_gateway.lorebooks.files import read_lorebook_file
from roleplay_gateway.lorebooks.schemas import (
    LorebookCreate,
    LorebookImported,
    LorebookPublic,
    LorebookUpdate,
)
from roleplay_gateway.lorebooks.service import (
    book_data,
    lorebook_view,
    new_lorebook,
    visible_clause,
    visible_lorebook,
)
from roleplay_gateway.lorebooks.store import Lorebook
from roleplay_gateway.lorebooks.world_info import world_info
from roleplay_gateway.openapi_document import errors

router = APIRouter(prefix="/v1", tags=["lorebooks"])
MAX_FILE_BYTES = 8 * 1024 * 1024


@router.get("/lorebooks", response_model=Page[LorebookPublic])
async def list_lorebooks(
    user: CurrentUser,
    session: SessionDep,
    scope: Literal["mine", "public"] | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Books the caller may see: theirs (`mine`), public ones (`public`), or both."""
    stmt = sa.select(Lorebook).where(visible_clause(user))
    if scope == "mine":
        stmt = stmt.where(col(Lorebook.owner_id) == user.id)
    elif scope == "public":
        stmt = stmt.where(col(Lorebook.visibility) == "public")
    rows, next_cursor = await keyset_page(
        session, stmt, col(Lorebook.created_at), col(Lorebook.id), limit=limit, cursor=cursor
    )
    return page([lorebook_view(b) for b in rows], next_cursor)


async def _insert(session: SessionDep, book: Lorebook) -> Lorebook:
    existing = await session.get(Lorebook, book.id)
    if existing is not None:
        return existing
    session.add(book)
    await session.flush()
    return book


@router.post("/lorebooks", status_code=201, response_model=LorebookPublic, responses=errors(409))
async def create_lorebook(
    body: LorebookCreate,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    data = BookData(
        name=body.name,
        description=body.description,
        scan_depth=body.scan_depth,
        token_budget=body.token_budget,
        recursive_scanning=body.recursive_scanning,
        extensions=body.extensions,
        entries=body.entries,
    )
    book = new_lorebook(
        user.id,
        data,
        id=new_or_derived_id("lorebook", user.id, idempotency_key),
        visibility=body.visibility,
    )
    return lorebook_view(await _insert(session, book))


@router.post(
    "/lorebooks/import",
    status_code=201,
    response_model=LorebookImported,
    responses=errors(409),
)
async def import_lorebook(
    user: CurrentUser,
    session: SessionDep,
    file: Annotated[
        UploadFile,
        File(
            description="`lorebook_v3` JSON, a card's `character_book`, or SillyTavern world info"
        ),
    ],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    content = await file.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise ApiError(413, "payload_too_large", "a lorebook may be at most 8 MiB")
    warnings = ImportWarnings()
    try:
        data = await asyncio.to_thread(_read, content, warnings)
    except (MalformedCardError, MalformedLorebookError) as exc:
        raise ApiError(422, "malformed_lorebook", str(exc)) from exc
    stem = file_stem(file.filename or "")
    book = new_lorebook(
        user.id,
        data,
        id=new_or_derived_id("lorebook-import", user.id, idempotency_key),
        name=stem,
    )
    return {**lorebook_view(await _insert(session, book)), "warnings": warnings.as_list()}


def _read(content: bytes, warnings: ImportWarnings) -> BookData:
    return read_lorebook_file(json_object(content, "the file is not JSON"), warnings)


@router.get("/lorebooks/{lorebook_id}", response_model=LorebookPublic)
async def get_lorebook(
    lorebook_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    return lorebook_view(await visible_lorebook(session, user, lorebook_id))


@router.patch("/lorebooks/{lorebook_id}", response_model=LorebookPublic)
async def update_lorebook(
    lorebook_id: uuid.UUID, body: LorebookUpdate, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    book = await visible_lorebook(session, user, lorebook_id, owned=True)
    changes = body.model_dump(exclude_unset=True)
    if body.entries is not None:
        changes["entries"] = [e.model_dump(mode="json") for e in with_ids(body.entries)]
    for name, value in changes.items():
        setattr(book, name, value)
    book.updated_at = datetime.now(UTC)
    await session.flush()
    return lorebook_view(book)


@router.delete("/lorebooks/{lorebook_id}", status_code=204)
async def delete_lorebook(
    lorebook_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Response:
    book = await visible_lorebook(session, user, lorebook_id, owned=True)
    await session.delete(book)
    return Response(status_code=204)


@router.get(
    "/lorebooks/{lorebook_id}/export",
    response_model=None,
    responses={
        200: {
            "description": "The book as `lorebook_v3` JSON or SillyTavern world info.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def export_lorebook(
    lorebook_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    format: Literal["v3", "sillytavern"] = "v3",
) -> Response:
    book = await visible_lorebook(session, user, lorebook_id)
    data = book_data(book)
    body = lorebook_v3(data) if format == "v3" else world_info(data)
    return JSONResponse(
        json.loads(json.dumps(body)),
        headers={"Content-Disposition": attachment(book.name, "json", fallback="lorebook")},
    )
