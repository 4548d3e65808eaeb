"""Tables of the `scenes` schema: jobs, generated scenes (the continuity chain) and the
temporary workspace assets with their expiry.

A portrait job (`purpose` `portrait`) has no conversation: its job and its image row carry
`conversation_id` None, so no conversation's scenes list, chain or keep ever includes it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

SCHEMA = "scenes"

metadata = SQLModel.metadata


def _now() -> datetime:
    return datetime.now(UTC)


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


class SceneJob(SQLModel, table=True):
    __tablename__ = "scene_jobs"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(primary_key=True)
    scene_id: uuid.UUID
    user_id: uuid.UUID = Field(index=True)
    conversation_id: uuid.UUID | None = Field(default=None, index=True)
    purpose: str = "scene"
    status: str = "queued"
    progress: float = 0.0
    stage: str = "queued"
    error_code: str | None = None
    error_message: str | None = None
    cancel_requested: bool = False
    provider_request_id: str | None = None
    model: str | None = None
    command: dict[str, Any] = Field(default_factory=dict, sa_type=pg.JSONB)
    provider_result: dict[str, Any] | None = Field(default=None, sa_type=pg.JSONB)
    delivered_by: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_type=_tz())
    attempts: int = 0
    provider_handle: dict[str, Any] | None = Field(default=None, sa_type=pg.JSONB)
    created_at: datetime = Field(default_factory=_now, sa_type=_tz())
    updated_at: datetime = Field(default_factory=_now, sa_type=_tz())
    finished_at: datetime | None = Field(default=None, sa_type=_tz())


class Scene(SQLModel, table=True):
    __tablename__ = "scenes"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(primary_key=True)
    job_id: uuid.UUID
    user_id: uuid.UUID = Field(index=True)
    conversation_id: uuid.UUID | None = Field(default=None, index=True)
    character_id: uuid.UUID
    message_id: uuid.UUID | None = None
    previous_scene_id: uuid.UUID | None = None
    generation_mode: str
    style: str
    status: str = "queued"
    prompt: str = ""
    image_bucket: str | None = None
    image_key: str | None = None
    thumbnail_key: str | None = None
    width: int | None = None
    height: int | None = None
    seed: int | None = None
    kept_asset_id: uuid.UUID | None = None
    kept_bucket: str | None = None
    kept_key: str | None = None
    created_at: datetime = Field(default_factory=_now, sa_type=_tz())


class WorkspaceAsset(SQLModel, table=True):
    __tablename__ = "workspace_assets"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID
    scene_id: uuid.UUID = Field(index=True)
    bucket: str
    key: str
    content_type: str
    size: int
    expires_at: datetime = Field(sa_type=_tz(), index=True)
    created_at: datetime = Field(default_factory=_now, sa_type=_tz())
