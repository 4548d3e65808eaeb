"""Scenes in a conversation, jobs and keeping a scene (scenes and library services).

Starting a scene checks the conversation is the caller's, takes the character, persona, scene
template, image model route, the chat model for the narrative and the recent messages as they
are now, and publishes `scenes.job.requested` with all of it: the routes for the scene's
mode and the portraits for its consistency (`routing.py`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert

from roleplay_common.broker import publish_raw
from roleplay_common.events import (
    EventEnvelope,
    KeepScene,
    Modification,
    RecentMessage,
    RequestSceneJob,
    StoredImage,
)
from roleplay_common.http import ApiError
from roleplay_common.pagination import Page
from roleplay_common.text import SafeText
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.catalog.routing import chat_routes
from roleplay_gateway.characters.service import (
    character_card,
    content_mode,
    scene_template_card,
)
from roleplay_gateway.conversations.endpoints import ChatDep
from roleplay_gateway.deps import RuntimeDep, SessionDep
from roleplay_gateway.idempotency import derived_id
from roleplay_gateway.internal_client import InternalClient
from roleplay_gateway.openapi_document import errors
from roleplay_gateway.scenes.routing import portrait_references, scene_routes
from roleplay_gateway.scenes.schemas import (
    JobCancellation,
    JobPublic,
    KeepAccepted,
    SceneAccepted,
    ScenePublic,
)

router = APIRouter(prefix="/v1", tags=["scenes"])

scene_requests = sa.Table(
    "scene_requests",
    sa.MetaData(schema="catalog"),
    sa.Column("job_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("scene_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("conversation_id", pg.UUID(as_uuid=True)),
    sa.Column("purpose", sa.Text, nullable=False, server_default="scene"),
    sa.Column("character_id", pg.UUID(as_uuid=True)),
    sa.Column("applied_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
)
"""Jobs the gateway accepted (scenes and portraits), so `GET /v1/jobs/{id}` answers before the
scenes service has read the command; a portrait's `applied_at` is when it became the portrait."""


async def get_scenes(request: Request) -> InternalClient:
    client: InternalClient = request.app.state.scenes
    return client


ScenesDep = Annotated[InternalClient, Depends(get_scenes)]


class SceneRequest(BaseModel):
    mode: Literal["t2i", "i2i", "modification"] = "t2i"
    prompt: SafeText | None = Field(default=None, min_length=1, max_length=4000)
    message_id: uuid.UUID | None = None
    previous_scene_id: uuid.UUID | None = None
    style: Literal["character_only", "pov", "both_characters"] = "character_only"
    model: SafeText | None = Field(default=None, min_length=1, max_length=200)
    modification: Modification | None = None
    keep: bool = Field(default=False, description="Keep the image in the library when done.")


async def publish_command(runtime: RuntimeDep, envelope: EventEnvelope, topic: str) -> None:
    try:
        await publish_raw(runtime.broker, topic, envelope)
    except Exception as exc:
        raise ApiError(
            503, "broker_unavailable", "could not queue the request", headers={"Retry-After": "5"}
        ) from exc


@router.post(
    "/conversations/{conversation_id}/scenes",
    status_code=202,
    response_model=SceneAccepted,
    responses=errors(402, 409),
)
async def request_scene(
    conversation_id: uuid.UUID,
    body: SceneRequest,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    chat: ChatDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Generate a scene image; watch it on the conversation's event stream or its job."""
    if body.mode == "modification" and body.modification is None:
        raise ApiError(422, "validation_error", "a modification needs `modification`")
    conversation = await chat.call(
        "GET", f"/internal/conversations/{conversation_id}", user_id=user.id
    )
    character = await character_card(
        session, user, uuid.UUID(conversation["character_id"]), role="ai"
    )
    persona = None
    if conversation.get("persona_id"):
        try:
            persona = await character_card(
                session, user, uuid.UUID(conversation["persona_id"]), role="user"
            )
        except ApiError:
            persona = None
    template = None
    if conversation.get("scene_template_id"):
        try:
            template = await scene_template_card(
                session, user, uuid.UUID(conversation["scene_template_id"])
            )
        except ApiError:
            template = None  # no longer visible to this user: the scene goes without it
    routes = await scene_routes(session, body.model, body.mode)
    references = await portrait_references(
        session, character.id, persona.id if persona is not None else None
    )
    narrative = None
    recent: list[RecentMessage] = []
    if body.prompt is None:
        narrative = (await chat_routes(session, conversation.get("model")))[0]
        page = await chat.call(
            "GET",
            f"/internal/conversations/{conversation_id}/messages",
            user_id=user.id,
            params={"limit": 8},
        )
        recent = [RecentMessage(sender=m["sender"], content=m["content"]) for m in page["items"]]
    check = getattr(request.app.state, "quota_check", None)
    if check is not None:
        await check(user.id)
    key = idempotency_key
    job_id = derived_id("scene-job", user.id, key, conversation_id) if key else uuid.uuid4()
    scene_id = derived_id("scene", user.id, key, conversation_id) if key else uuid.uuid4()
    command = RequestSceneJob(
        job_id=job_id,
        scene_id=scene_id,
        user_id=user.id,
        conversation_id=conversation_id,
        mode=body.mode,
        prompt=body.prompt,
        style=body.style,
        message_id=body.message_id,
        previous_scene_id=body.previous_scene_id,
        modification=body.modification,
        character=character,
        persona=persona,
        template=template,
        routes=routes,
        narrative_route=narrative,
        recent_messages=recent,
        references=references,
        content_mode=content_mode(user, character),
        auto_keep=body.keep or bool(conversation.get("auto_keep_scenes")),
        requested_at=datetime.now(UTC),
    )
    envelope = EventEnvelope.wrap(
        command,
        producer="gateway",
        correlation_id=getattr(request.state, "correlation_id", None),
        id=derived_id("scene-command", user.id, key, conversation_id) if key else None,
    )
    await session.execute(
        insert(scene_requests)
        .values(
            job_id=job_id,
            scene_id=scene_id,
            user_id=user.id,
            conversation_id=conversation_id,
            character_id=character.id,
        )
        .on_conflict_do_nothing()
    )
    await publish_command(runtime, envelope, runtime.topics.name(RequestSceneJob))
    return JSONResponse(
        {"job_id": str(job_id), "scene_id": str(scene_id), "job_url": f"/v1/jobs/{job_id}"},
        status_code=202,
    )


@router.get("/conversations/{conversation_id}/scenes", response_model=Page[ScenePublic])
async def list_scenes(
    conversation_id: uuid.UUID, user: CurrentUser, chat: ChatDep, scenes: ScenesDep
) -> dict[str, Any]:
    await chat.call("GET", f"/internal/conversations/{conversation_id}", user_id=user.id)
    result: dict[str, Any] = await scenes.call(
        "GET", f"/internal/conversations/{conversation_id}/scenes", user_id=user.id
    )
    for item in result["items"]:
        item.pop("image", None)
    return result


@router.get("/jobs/{job_id}", response_model=JobPublic)
async def get_job(
    job_id: uuid.UUID, user: CurrentUser, session: SessionDep, scenes: ScenesDep
) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await scenes.call(
            "GET", f"/internal/jobs/{job_id}", user_id=user.id
        )
    except ApiError as exc:
        if exc.status != 404:
            raise
        # Accepted here, not yet read by the scenes service: it is queued.
        accepted = (
            await session.execute(
                sa.select(scene_requests).where(
                    scene_requests.c.job_id == job_id, scene_requests.c.user_id == user.id
                )
            )
        ).first()
        if accepted is None:
            raise
        return {
            "id": str(job_id),
            "purpose": accepted.purpose,
            "scene_id": str(accepted.scene_id),
            "conversation_id": accepted.conversation_id,
            "character_id": accepted.character_id,
            "status": "queued",
            "progress": 0.0,
            "stage": "queued",
            "model": None,
            "delivered_by": None,
            "error": None,
            "result": None,
            "created_at": accepted.created_at,
            "updated_at": accepted.created_at,
        }
    if result.get("purpose") == "portrait" and result["status"] == "completed":
        return await _until_applied(session, result)
    return result


async def _until_applied(session: SessionDep, job: dict[str, Any]) -> dict[str, Any]:
    """A portrait job reads `completed` once its image is the character's portrait (the
    gateway sets it on `scenes.portrait.completed`); until then, its last step."""
    applied = (
        await session.execute(
            sa.select(scene_requests.c.applied_at).where(
                scene_requests.c.job_id == uuid.UUID(job["id"])
            )
        )
    ).first()
    if applied is None or applied.applied_at is not None:
        return job  # applied, or accepted too long ago to be remembered
    return {**job, "status": "processing", "progress": 0.95, "stage": "setting the portrait"}


@router.post("/jobs/{job_id}/cancel", status_code=202, response_model=JobCancellation)
async def cancel_job(job_id: uuid.UUID, user: CurrentUser, scenes: ScenesDep) -> dict[str, Any]:
    result: dict[str, Any] = await scenes.call(
        "POST", f"/internal/jobs/{job_id}/cancel", user_id=user.id
    )
    return result


@router.post(
    "/scenes/{scene_id}/save", status_code=202, response_model=KeepAccepted, responses=errors(409)
)
async def keep_scene(
    scene_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    runtime: RuntimeDep,
    scenes: ScenesDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Keep the scene in the library (a server-side copy); `library.saved` follows.

    Each save is a new command (a retry with the same `Idempotency-Key` is the same one): the
    library keeps a scene once while its copy exists, and again after that copy was deleted.
    """
    scene = await scenes.call("GET", f"/internal/scenes/{scene_id}", user_id=user.id)
    image = scene.get("image")
    if not image or not scene.get("image_url"):
        raise ApiError(409, "scene_not_ready", "the scene has no image (yet, or any more)")
    command = KeepScene(
        user_id=user.id,
        scene_id=scene_id,
        conversation_id=uuid.UUID(scene["conversation_id"]),
        character_id=uuid.UUID(scene["character_id"]),
        image=StoredImage(
            bucket=image["bucket"],
            key=image["key"],
            thumbnail_key=image["thumbnail_key"],
            width=image["width"],
            height=image["height"],
        ),
        prompt=scene["prompt"],
    )
    envelope = EventEnvelope.wrap(
        command,
        producer="gateway",
        correlation_id=getattr(request.state, "correlation_id", None),
        id=derived_id("keep", user.id, idempotency_key, scene_id) if idempotency_key else None,
    )
    await publish_command(runtime, envelope, runtime.topics.name(KeepScene))
    return {"scene_id": str(scene_id), "status": "saving"}
