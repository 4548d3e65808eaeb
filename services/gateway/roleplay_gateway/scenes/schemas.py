"""Response shapes of scenes, scene jobs and keeping a scene. Image URLs are signed and
expire; a scene past its workspace expiry has none."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

JobStatus = Literal["queued", "processing", "completed", "failed", "cancelled"]


class SceneAccepted(BaseModel):
    job_id: uuid.UUID
    scene_id: uuid.UUID
    job_url: str


class ScenePublic(BaseModel):
    id: uuid.UUID
    job_id: uuid.UUID
    conversation_id: uuid.UUID
    character_id: uuid.UUID
    message_id: uuid.UUID | None
    status: str
    prompt: str
    generation_mode: str
    style: str
    previous_scene_id: uuid.UUID | None
    image_url: str | None
    thumbnail_url: str | None
    created_at: datetime


class JobError(BaseModel):
    code: str
    message: str | None


class JobResult(BaseModel):
    scene_id: uuid.UUID
    image_url: str | None
    thumbnail_url: str | None
    prompt: str


class JobPublic(BaseModel):
    """A scene job, or a portrait job (`purpose` `portrait`: no conversation; when it
    completes, its image becomes the character's portrait)."""

    id: uuid.UUID
    purpose: Literal["scene", "portrait"] = "scene"
    scene_id: uuid.UUID = Field(description="The generated image (a scene, or a portrait).")
    conversation_id: uuid.UUID | None
    character_id: uuid.UUID | None = None
    status: JobStatus
    progress: float
    stage: str
    model: str | None
    delivered_by: str | None
    error: JobError | None
    result: JobResult | None
    created_at: datetime
    updated_at: datetime


class JobCancellation(BaseModel):
    id: uuid.UUID
    status: JobStatus
    cancel_requested: bool


class KeepAccepted(BaseModel):
    scene_id: uuid.UUID
    status: Literal["saving"]


class WebhookAccepted(BaseModel):
    status: Literal["accepted"]


class PortraitJobAccepted(BaseModel):
    job_id: uuid.UUID
    job_url: str
    character_id: uuid.UUID
