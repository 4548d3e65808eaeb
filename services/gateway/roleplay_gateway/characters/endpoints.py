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
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from roleplay_common.http import ApiError
from roleplay_common.logging import get_logger
from roleplay_common.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page, page
from roleplay_common.storage import PORTRAITS, ObjectNotFoundError
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.auth.service import AuthUser
from roleplay_gateway.characters.images import UnreadableImageError, open_image
from roleplay_gateway.characters.schemas import (
    CharacterCreate,
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
from roleplay_gateway.lorebooks.service import check_visible
from roleplay_gateway.lorebooks.store import Lorebook
from roleplay_gateway.openapi_document import errors

log = get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["characters"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=500)]
IdempotencyKey = Annotated[str | None, Header(max_length=200)]
MAX_IMAGE_BYTES = 8 * 1024 * 1024
Created = TypeVar("Created", Character, SceneTemplate)


def check_rating(user: AuthUser, rating: str | None) -> None:
    if rating == "nsfw" and not (user.age_verified or user.is_admin):
        raise ApiError(
            403, "age_verification_required", "nsfw content needs an age-verified profile"
        )


@asynccontextmanager
async def object_storage() -> AsyncIterator[None]:
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


async def insert_once(session: SessionDep, row: Created) -> Created:
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
    check_rating(user, body.content_rating)
    await check_visible(session, user, [body.lorebook_id, *body.lorebook_ids])
    values = body.model_dump()
    values["lorebook_ids"] = [str(i) for i in body.lorebook_ids]
    values["settings"] = body.settings.model_dump(exclude_none=True)
    character = Character(
        id=new_or_derived_id("character", user.id, idempotency_key),
        owner_id=user.id,
        **values,
    )
    return character_view(await insert_once(session, character))


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
    check_rating(user, changes.get("content_rating"))
    await check_visible(session, user, [body.lorebook_id, *(body.lorebook_ids or [])])
    if body.lorebook_ids is not None:
        changes["lorebook_ids"] = [str(i) for i in body.lorebook_ids]
    if body.settings is not None:
        changes["settings"] = body.settings.model_dump(exclude_none=True)
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
    async with object_storage():
        for key in [character.portrait_key, *character.asset_keys.values()]:
            if key:
                await runtime.storage.delete(PORTRAITS, key)
    own_book = await session.get(Lorebook, uuid.uuid5(character.id, "lorebook"))
    if own_book is not None:
        await session.delete(own_book)
    await session.delete(character)
    return Response(status_code=204)


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
    async with object_storage():
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
    async with object_storage():
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
    check_rating(user, body.content_rating)
    template = SceneTemplate(
        id=new_or_derived_id("scene-template", user.id, idempotency_key),
        owner_id=user.id,
        **body.model_dump(),
    )
    return _template_view(await insert_once(session, template))


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
    check_rating(user, changes.get("content_rating"))
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
