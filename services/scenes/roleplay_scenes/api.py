"""Internal HTTP API of the scenes service (called by the gateway, not by clients).

Every route takes the caller's `user_id` and answers 404 for anything that is not theirs.
Image URLs are signed and expire; an image past its workspace expiry has none. A portrait's
image is no conversation's scene: `/scenes/{id}` does not answer for it, its job does.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from sqlmodel import col

from roleplay_common.http import not_found
from roleplay_common.internal_api import RuntimeDep, SessionDep
from roleplay_common.service import Runtime
from roleplay_common.storage import WORKSPACE_TEMP
from roleplay_common.text import SafeJsonObject
from roleplay_scenes.jobs import JobRunner
from roleplay_scenes.store import Scene, SceneJob

router = APIRouter(prefix="/internal", tags=["internal"])


UserId = Annotated[uuid.UUID, Query()]


async def _signed(runtime: Runtime, key: str | None) -> str | None:
    if not key or not await runtime.storage.exists(WORKSPACE_TEMP, key):
        return None
    return await runtime.storage.signed_url(WORKSPACE_TEMP, key)


async def scene_view(runtime: Runtime, scene: Scene, job: SceneJob | None = None) -> dict[str, Any]:
    return {
        "id": str(scene.id),
        "job_id": str(scene.job_id),
        "conversation_id": str(scene.conversation_id),
        "character_id": str(scene.character_id),
        "message_id": str(scene.message_id) if scene.message_id else None,
        "status": job.status if job else scene.status,
        "prompt": scene.prompt,
        "generation_mode": scene.generation_mode,
        "style": scene.style,
        "previous_scene_id": str(scene.previous_scene_id) if scene.previous_scene_id else None,
        "image_url": await _signed(runtime, scene.image_key),
        "thumbnail_url": await _signed(runtime, scene.thumbnail_key),
        "image": {
            "bucket": scene.image_bucket,
            "key": scene.image_key,
            "thumbnail_key": scene.thumbnail_key,
            "width": scene.width,
            "height": scene.height,
        }
        if scene.image_key
        else None,
        "created_at": scene.created_at.isoformat(),
    }


async def job_view(runtime: Runtime, job: SceneJob, scene: Scene | None) -> dict[str, Any]:
    result = None
    if job.status == "completed" and scene is not None:
        result = {
            "scene_id": str(scene.id),
            "image_url": await _signed(runtime, scene.image_key),
            "thumbnail_url": await _signed(runtime, scene.thumbnail_key),
            "prompt": scene.prompt,
        }
    return {
        "id": str(job.id),
        "purpose": job.purpose,
        "scene_id": str(job.scene_id),
        "conversation_id": str(job.conversation_id) if job.conversation_id else None,
        "character_id": str(scene.character_id) if scene is not None else None,
        "status": job.status,
        "progress": job.progress,
        "stage": job.stage,
        "model": job.model,
        "delivered_by": job.delivered_by,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "result": result,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


@router.get("/conversations/{conversation_id}/scenes")
async def list_scenes(
    conversation_id: uuid.UUID, user_id: UserId, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    rows = (
        await session.execute(
            sa.select(Scene, SceneJob)
            .join(SceneJob, col(SceneJob.id) == col(Scene.job_id))
            .where(col(Scene.conversation_id) == conversation_id, col(Scene.user_id) == user_id)
            .order_by(col(Scene.created_at))
        )
    ).all()
    return {"items": [await scene_view(runtime, s, j) for s, j in rows], "next_cursor": None}


@router.get("/scenes/{scene_id}")
async def get_scene(
    scene_id: uuid.UUID, user_id: UserId, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    scene = await session.get(Scene, scene_id)
    if scene is None or scene.user_id != user_id or scene.conversation_id is None:
        raise not_found("scene")
    return await scene_view(runtime, scene, await session.get(SceneJob, scene.job_id))


@router.get("/jobs/{job_id}")
async def get_job(
    job_id: uuid.UUID, user_id: UserId, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    job = await session.get(SceneJob, job_id)
    if job is None or job.user_id != user_id:
        raise not_found("job")
    return await job_view(runtime, job, await session.get(Scene, job.scene_id))


@router.post("/jobs/{job_id}/provider-result", status_code=202)
async def provider_result(
    job_id: uuid.UUID, body: SafeJsonObject, request: Request
) -> dict[str, str]:
    """A provider's webhook, relayed by the gateway after it checked the signed token."""
    jobs: JobRunner = request.app.state.jobs
    if not await jobs.record_callback(job_id, body):
        raise not_found("job")
    return {"status": "accepted"}


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(job_id: uuid.UUID, user_id: UserId, request: Request) -> dict[str, Any]:
    jobs: JobRunner = request.app.state.jobs
    job = await jobs.cancel(job_id, user_id)
    if job is None:
        raise not_found("job")
    return {"id": str(job.id), "status": job.status, "cancel_requested": job.cancel_requested}
