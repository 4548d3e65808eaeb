"""Character Card routes: import (JSON, PNG/APNG, CHARX) and export (JSON, PNG, CHARX).

The card work itself is in `cards/` and `card_import.py`; these routes bound the upload, run
the CPU work in a thread, and keep what a card brings (its book, art and assets).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from roleplay_common.content_disposition import attachment
from roleplay_common.http import ApiError
from roleplay_common.storage import PORTRAITS, ObjectNotFoundError
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.characters import card_import, cards
from roleplay_gateway.characters.endpoints import (
    MAX_IMAGE_BYTES,
    IdempotencyKey,
    check_rating,
    insert_once,
    object_storage,
)
from roleplay_gateway.characters.schemas import CharacterImported
from roleplay_gateway.characters.service import character_view, visible_character
from roleplay_gateway.characters.store import Character
from roleplay_gateway.deps import RuntimeDep, SessionDep
from roleplay_gateway.idempotency import new_or_derived_id
from roleplay_gateway.lorebooks.service import book_data, new_lorebook
from roleplay_gateway.lorebooks.store import Lorebook
from roleplay_gateway.openapi_document import errors

router = APIRouter(prefix="/v1", tags=["characters"])


@router.post(
    "/characters/import",
    status_code=201,
    response_model=CharacterImported,
    responses=errors(403, 409),
)
async def import_character(
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    file: Annotated[
        UploadFile, File(description="Card V1/V2/V3 as JSON, PNG/APNG (`ccv3`/`chara`) or CHARX")
    ],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """A character from a Character Card; its `character_book` becomes its own lorebook,
    its art the portrait, a CHARX's assets are kept. What had to be mended is in `warnings`."""
    data = await file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ApiError(413, "payload_too_large", "a card may be at most 8 MiB")
    character_id = new_or_derived_id("character-import", user.id, idempotency_key)
    existing = await session.get(Character, character_id)
    if existing is not None and existing.owner_id == user.id:
        return {**character_view(existing), "warnings": []}
    try:
        imported = await asyncio.to_thread(card_import.read, file.filename or "", data)
    except cards.MalformedCardError as exc:
        raise ApiError(422, "malformed_card", str(exc)) from exc
    check_rating(user, imported.fields.values.get("content_rating"))
    character = Character(id=character_id, owner_id=user.id, **imported.fields.values)
    if imported.fields.book is not None:
        book = new_lorebook(
            user.id,
            imported.fields.book,
            id=uuid.uuid5(character_id, "lorebook"),
            name=character.name,
        )
        session.add(book)
        character.lorebook_id = book.id
    async with object_storage():
        await card_import.keep_files(runtime.storage, character, imported)
    stored = await insert_once(session, character)
    return {**character_view(stored), "warnings": imported.warnings.as_list()}


@router.get(
    "/characters/{character_id}/export",
    response_model=None,
    responses={
        200: {
            "description": "The card as JSON, a PNG with the card embedded (`ccv3` and a V2 "
            "`chara`), or a CHARX zip (`card.json` and assets).",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def export_character(
    character_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    format: Literal["json", "png", "charx"] = "json",
    version: Annotated[
        int,
        Query(
            ge=2,
            le=3,
            description="Spec version of the JSON export: 2 (the de-facto interchange format, "
            "without V3's fields) or 3 (everything).",
        ),
    ] = 2,
) -> Response:
    """The card, with the character's lorebook as its `character_book`. JSON is the V2
    backfill (or the whole V3 card with `?version=3`); a PNG carries both; a CHARX is V3 with
    its assets."""
    character = await visible_character(session, user, character_id)
    book = None
    if character.lorebook_id is not None:
        row = await session.get(Lorebook, character.lorebook_id)
        book = book_data(row) if row is not None else None
    disposition = {"Content-Disposition": attachment(character.name, format, fallback="character")}
    if format == "json":
        return JSONResponse(cards.to_card(character, book, version=version), headers=disposition)
    portrait = None
    async with object_storage():
        if character.portrait_key:
            try:
                portrait = (await runtime.storage.get(PORTRAITS, character.portrait_key)).data
            except ObjectNotFoundError:
                portrait = None  # the card still exports, on a placeholder
        files = await card_import.stored_files(
            runtime.storage, character, png_assets_only=format == "png"
        )
    v3 = cards.to_card(character, book, version=3)
    if format == "png":
        v2 = cards.to_card(character, book, version=2)
        png = await asyncio.to_thread(cards.card_png, v3, v2, portrait, files)
        return Response(png, media_type="image/png", headers=disposition)
    archive = await asyncio.to_thread(cards.card_charx, v3, files, portrait)
    return Response(archive, media_type="application/zip", headers=disposition)
