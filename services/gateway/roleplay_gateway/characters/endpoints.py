"""Character, persona and scene template routes of the public API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, File, Header, Query, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from roleplay_common.content_disposition import attachment
from roleplay_common.http import ApiError
from roleplay_common.logging import get_logger
from roleplay_common.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page, page
from roleplay_common.storage import PORTRAITS, ObjectNotFoundError
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.auth.service import AuthUser
from roleplay_gateway.characters import card_import, cards
from roleplay_gateway.characters.images import UnreadableImageError, open_image
from roleplay_gateway.characters.schemas import (
    CharacterCreate,
    CharacterImported,
    CharacterPublic,
    CharacterUpdate,
    SceneTemplateCreate,
    SceneTemplatePublic,
    SceneTemplateUpdate,
)
from roleplay_gateway.characters.service import (
    character_view,
    owned_character,
    scene_template_clause,
    visible_character,
    visible_clause,
    visible_scene_template,
)
from roleplay_gateway.characters.store import Character, SceneTemplate
from roleplay_gateway.deps import RuntimeDep, SessionDep
from roleplay_gateway.idempotency import new_or_derived_id
from roleplay_gateway.lorebooks.service import book_data, check_visible, new_lorebook
from roleplay_gateway.lorebooks.store import Lorebook
from roleplay_gateway.openapi_document import errors

log = get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["characters"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=500)]
IdempotencyKey = Annotated[str | None, Header(max_length=200)]
MAX_IMAGE_BYTES = 8 * 1024 * 1024
Created = TypeVar("Created", Character, SceneTemplate)


def _check_rating(user: AuthUser, rating: str | None) -> None:
    if rating == "nsfw" and not (user.age_verified or user.is_admin):
        raise ApiError(
            403, "age_verification_required", "nsfw content needs an age-verified profile"
        )


@asynccontextmanager
async def _storage() -> AsyncIterator[None]:
    """Object storage that does not answer is a 503 (with `Retry-After`), never a 500."""
    try:
        yield
    except (ApiError, ObjectNotFoundError):
        raise
    except Exception as exc:
        log.error("object storage call failed", error=type(exc).__name__)
        raise ApiError(
            503,
            "storage_unavailable",
            "object storage is not available; try again shortly",
            headers={"Retry-After": "10"},
        ) from exc


async def _insert_once(session: SessionDep, row: Created) -> Created:
    """Insert `row`, or return the row a retry with the same id inserted first."""
    existing = await session.get(type(row), row.id)
    if existing is not None:
        return existing
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:  # a concurrent retry won the race
        winner = await session.get(type(row), row.id, populate_existing=True)
        if winner is None:
            raise ApiError(409, "conflict", "the request conflicts with another") from exc
        return winner
    return row


@router.get("/characters", response_model=Page[CharacterPublic])
async def list_characters(
    user: CurrentUser,
    session: SessionDep,
    role: Literal["ai", "user"] | None = None,
    scope: Literal["mine", "public"] | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Characters the caller may see: theirs (`mine`), public ones (`public`), or both."""
    stmt = sa.select(Character).where(visible_clause(user))
    if role:
        stmt = stmt.where(col(Character.role) == role)
    if scope == "mine":
        stmt = stmt.where(col(Character.owner_id) == user.id)
    elif scope == "public":
        stmt = stmt.where(col(Character.visibility) == "public")
    rows, next_cursor = await keyset_page(
        session, stmt, col(Character.created_at), col(Character.id), limit=limit, cursor=cursor
    )
    return page([character_view(c) for c in rows], next_cursor)


@router.post(
    "/characters",
    status_code=201,
    response_model=CharacterPublic,
    responses=errors(403, 404, 409),
)
async def create_character(
    body: CharacterCreate,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    _check_rating(user, body.content_rating)
    await check_visible(session, user, [body.lorebook_id, *body.lorebook_ids])
    values = body.model_dump()
    values["lorebook_ids"] = [str(i) for i in body.lorebook_ids]
    character = Character(
        id=new_or_derived_id("character", user.id, idempotency_key),
        owner_id=user.id,
        **values,
    )
    return character_view(await _insert_once(session, character))


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
    _check_rating(user, imported.fields.values.get("content_rating"))
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
    async with _storage():
        await card_import.keep_files(runtime.storage, character, imported)
    stored = await _insert_once(session, character)
    return {**character_view(stored), "warnings": imported.warnings.as_list()}


@router.get("/characters/{character_id}", response_model=CharacterPublic)
async def get_character(
    character_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    return character_view(await visible_character(session, user, character_id))


@router.patch("/characters/{character_id}", response_model=CharacterPublic, responses=errors(403))
async def update_character(
    character_id: uuid.UUID, body: CharacterUpdate, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    character = await owned_character(session, user, character_id)
    changes = body.model_dump(exclude_unset=True)
    _check_rating(user, changes.get("content_rating"))
    await check_visible(session, user, [body.lorebook_id, *(body.lorebook_ids or [])])
    if body.lorebook_ids is not None:
        changes["lorebook_ids"] = [str(i) for i in body.lorebook_ids]
    for name, value in changes.items():
        setattr(character, name, value)
    character.updated_at = datetime.now(UTC)
    await session.flush()
    return character_view(character)


@router.delete("/characters/{character_id}", status_code=204)
async def delete_character(
    character_id: uuid.UUID, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    character = await owned_character(session, user, character_id)
    async with _storage():
        for key in [character.portrait_key, *character.asset_keys.values()]:
            if key:
                await runtime.storage.delete(PORTRAITS, key)
    own_book = await session.get(Lorebook, uuid.uuid5(character.id, "lorebook"))
    if own_book is not None:
        await session.delete(own_book)
    await session.delete(character)
    return Response(status_code=204)


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
    async with _storage():
        if character.portrait_key:
            try:
                portrait = (await runtime.storage.get(PORTRAITS, character.portrait_key)).data
            except ObjectNotFoundError:
                portrait = None  # the card still exports, on a placeholder
        files = (
            await card_import.stored_files(runtime.storage, character) if format == "charx" else {}
        )
    v3 = cards.to_card(character, book, version=3)
    if format == "png":
        v2 = cards.to_card(character, book, version=2)
        png = await asyncio.to_thread(cards.card_png, v3, v2, portrait)
        return Response(png, media_type="image/png", headers=disposition)
    archive = await asyncio.to_thread(cards.card_charx, v3, files, portrait)
    return Response(archive, media_type="application/zip", headers=disposition)


@router.post("/characters/{character_id}/portrait", response_model=CharacterPublic)
async def upload_portrait(
    character_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="PNG, JPEG or WebP image")],
) -> dict[str, Any]:
    character = await owned_character(session, user, character_id)
    data = await file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ApiError(413, "payload_too_large", "a portrait may be at most 8 MiB")
    try:
        image = await asyncio.to_thread(open_image, data, decode=False)
    except UnreadableImageError as exc:
        raise ApiError(422, "invalid_image", str(exc)) from exc
    kind = (image.format or "").lower()
    if kind not in ("png", "jpeg", "webp"):
        raise ApiError(422, "invalid_image", "the portrait must be PNG, JPEG or WebP")
    key = f"{character.id}/{uuid.uuid4()}.{'jpg' if kind == 'jpeg' else kind}"
    async with _storage():
        await runtime.storage.put(PORTRAITS, key, data, f"image/{kind}")
    old = character.portrait_key
    character.portrait_key = key
    character.image_url = f"/v1/characters/{character.id}/portrait"
    character.updated_at = datetime.now(UTC)
    await session.flush()
    if old:
        try:
            await runtime.storage.delete(PORTRAITS, old)
        except Exception as exc:  # the new portrait stands; the old object is only litter
            log.warning("old portrait not deleted", key=old, error=type(exc).__name__)
    return character_view(character)


@router.get(
    "/characters/{character_id}/portrait",
    status_code=307,
    response_class=RedirectResponse,
    responses={307: {"description": "Redirects to a short-lived signed URL of the portrait."}},
)
async def portrait(
    character_id: uuid.UUID, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Redirects to a short-lived signed URL of the portrait."""
    character = await visible_character(session, user, character_id)
    if not character.portrait_key:
        raise ApiError(404, "not_found", "this character has no portrait")
    async with _storage():
        url = await runtime.storage.signed_url(
            PORTRAITS, character.portrait_key, timedelta(minutes=15)
        )
    return RedirectResponse(url, status_code=307)


# -- scene templates ---------------------------------------------------------------------


def _template_view(t: SceneTemplate) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "owner_id": str(t.owner_id),
        "name": t.name,
        "description": t.description,
        "setting": t.setting,
        "scenario": t.scenario,
        "scene_prompt": t.scene_prompt,
        "atmosphere": t.atmosphere,
        "scene_starters": list(t.scene_starters),
        "preview_image_url": t.preview_image_url,
        "tags": list(t.tags),
        "content_rating": t.content_rating,
        "visibility": t.visibility,
        "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(),
    }


@router.get("/scene-templates", tags=["scene templates"], response_model=Page[SceneTemplatePublic])
async def list_scene_templates(
    user: CurrentUser, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> dict[str, Any]:
    stmt = sa.select(SceneTemplate).where(scene_template_clause(user))
    rows, next_cursor = await keyset_page(
        session,
        stmt,
        col(SceneTemplate.created_at),
        col(SceneTemplate.id),
        limit=limit,
        cursor=cursor,
    )
    return page([_template_view(t) for t in rows], next_cursor)


@router.post(
    "/scene-templates",
    status_code=201,
    tags=["scene templates"],
    response_model=SceneTemplatePublic,
    responses=errors(403, 409),
)
async def create_scene_template(
    body: SceneTemplateCreate,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    _check_rating(user, body.content_rating)
    template = SceneTemplate(
        id=new_or_derived_id("scene-template", user.id, idempotency_key),
        owner_id=user.id,
        **body.model_dump(),
    )
    return _template_view(await _insert_once(session, template))


@router.get(
    "/scene-templates/{template_id}", tags=["scene templates"], response_model=SceneTemplatePublic
)
async def get_scene_template(
    template_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    return _template_view(await visible_scene_template(session, user, template_id))


@router.patch(
    "/scene-templates/{template_id}",
    tags=["scene templates"],
    response_model=SceneTemplatePublic,
    responses=errors(403),
)
async def update_scene_template(
    template_id: uuid.UUID, body: SceneTemplateUpdate, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    template = await visible_scene_template(session, user, template_id, owned=True)
    changes = body.model_dump(exclude_unset=True)
    _check_rating(user, changes.get("content_rating"))
    for name, value in changes.items():
        setattr(template, name, value)
    template.updated_at = datetime.now(UTC)
    await session.flush()
    return _template_view(template)


@router.delete("/scene-templates/{template_id}", status_code=204, tags=["scene templates"])
async def delete_scene_template(
    template_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Response:
    template = await visible_scene_template(session, user, template_id, owned=True)
    await session.delete(template)
    return Response(status_code=204)
