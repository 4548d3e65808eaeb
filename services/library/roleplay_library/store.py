"""Tables of the `library` schema: the assets a user keeps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

SCHEMA = "library"

metadata = SQLModel.metadata


def _now() -> datetime:
    return datetime.now(UTC)


class LibraryAsset(SQLModel, table=True):
    __tablename__ = "library_assets"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "source_scene_id", name="uq_library_assets_scene"),
        {"schema": SCHEMA},
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(index=True)
    asset_type: str = "scene"
    bucket: str
    key: str
    thumbnail_key: str
    content_type: str = "image/png"
    width: int | None = None
    height: int | None = None
    source_scene_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = Field(default=None, index=True)
    roleplay_metadata: dict[str, Any] = Field(default_factory=dict, sa_type=pg.JSONB)
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
