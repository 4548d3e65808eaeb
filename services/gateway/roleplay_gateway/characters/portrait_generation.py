"""Generating a character's portrait: `POST /v1/characters/{id}/portrait/generate`.

1. The caller must see the character (else 404) and own it, or be an admin (else 403).
2. The command is a scene job with `purpose` `portrait` and no conversation: the character's
   card as it is now (the scenes service writes the prompt from its appearance and
   description unless one is given), the `t2i` routes (the requested model first), the
   content mode. It is recorded as accepted (so `GET /v1/jobs/{id}` answers at once) and
   published; the answer is `202 {job_id, job_url}`.
3. The job runs like a scene's — durable, leased, cancellable (`POST /v1/jobs/{id}/cancel`),
   with fallback between the routes and every provider call in usage (`portrait`).
4. `scenes.portrait.completed` → `portrait_results.py` copies the image into `portraits` and
   makes it the character's portrait; a failed or cancelled job leaves the old one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.dialects.postgresql import insert

from roleplay_common.events import EventEnvelope, RequestSceneJob
from roleplay_common.http import ApiError
from roleplay_common.text import SafeText
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.catalog.routing import image_routes
from roleplay_gateway.characters.service import character_card, content_mode, visible_character
from roleplay_gateway.deps import RuntimeDep, SessionDep
from roleplay_gateway.idempotency import derived_id
from roleplay_gateway.openapi_document import errors
from roleplay_gateway.scenes.endpoints import publish_command, scene_requests
from roleplay_gateway.scenes.schemas import PortraitJobAccepted

router = APIRouter(prefix="/v1", tags=["characters"])


class PortraitRequest(BaseModel):
    prompt: SafeText | None = Field(
        default=None,
        min_length=1,
        max_length=4000,
        description="What to paint; by default written from the character's appearance and "
        "description.",
    )
    model: SafeText | None = Field(
        default=None, min_length=1, max_length=200, description="An image model's key (t2i)."
    )


@router.post(
    "/characters/{character_id}/portrait/generate",
    status_code=202,
    response_model=PortraitJobAccepted,
    responses=errors(402, 403),
)
async def generate_portrait(
    character_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    body: Annotated[PortraitRequest | None, Body()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Paint a new portrait; follow `GET /v1/jobs/{job_id}`. When the job completes the image
    is the character's portrait (`image_url`); if it fails the old portrait stays."""
    body = body or PortraitRequest()
    character = await visible_character(session, user, character_id)
    if character.owner_id != user.id and not user.is_admin:
        raise ApiError(403, "forbidden", "only the character's owner may change its portrait")
    card = await character_card(
        session, user, character_id, role="user" if character.role == "user" else "ai"
    )
    routes = await image_routes(session, body.model, task="t2i")
    check = getattr(request.app.state, "quota_check", None)
    if check is not None:
        await check(user.id)
    key = idempotency_key
    job_id = derived_id("portrait-job", user.id, key, character_id) if key else uuid.uuid4()
    image_id = derived_id("portrait-image", user.id, key, character_id) if key else uuid.uuid4()
    command = RequestSceneJob(
        job_id=job_id,
        scene_id=image_id,
        user_id=user.id,
        purpose="portrait",
        mode="t2i",
        prompt=body.prompt,
        character=card,
        routes=routes,
        content_mode=content_mode(user, card),
        requested_at=datetime.now(UTC),
    )
    envelope = EventEnvelope.wrap(
        command,
        producer="gateway",
        correlation_id=getattr(request.state, "correlation_id", None),
        id=derived_id("portrait-command", user.id, key, character_id) if key else None,
    )
    await session.execute(
        insert(scene_requests)
        .values(
            job_id=job_id,
            scene_id=image_id,
            user_id=user.id,
            purpose="portrait",
            character_id=character_id,
        )
        .on_conflict_do_nothing()
    )
    await publish_command(runtime, envelope, runtime.topics.name(RequestSceneJob))
    return JSONResponse(
        {
            "job_id": str(job_id),
            "job_url": f"/v1/jobs/{job_id}",
            "character_id": str(character_id),
        },
        status_code=202,
    )
