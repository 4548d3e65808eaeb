"""Tables of characters, personas and scene templates (schema `catalog`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class Character(SQLModel, table=True):
    """An AI character (`role` ai) or a user persona (`role` user)."""

    __tablename__ = "characters"
    __table_args__ = {"schema": "catalog"}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID
    role: str
    name: str
    description: str = ""
    persona: str = ""
    system_prompt: str = ""
    first_message: str = ""
    alternate_greetings: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    example_dialogue: str = ""
    scenario: str = ""
    content_rating: str = "sfw"
    visibility: str = "private"
    scene_behavior_rules: dict[str, Any] = Field(default_factory=dict, sa_type=pg.JSONB)
    consistency_method: str | None = None
    appearance_tags: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    image_url: str | None = None
    portrait_key: str | None = None
    tags: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    creator: str = ""
    creator_notes: str = ""
    # Card fields (V2/V3): `json` columns keep the card's key order, so exports match imports.
    nickname: str = ""
    post_history_instructions: str = ""
    character_version: str = ""
    extensions: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    creator_notes_multilingual: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    group_only_greetings: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    source: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    assets: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    asset_keys: dict[str, str] = Field(
        default_factory=dict, sa_type=sa.JSON, description="Embedded asset path -> object key."
    )
    card_extra: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=sa.JSON,
        description="Fields outside the spec: `{top: {...}, data: {...}}`, written back on export.",
    )
    creation_date: int | None = Field(default=None, sa_type=sa.BigInteger)
    modification_date: int | None = Field(default=None, sa_type=sa.BigInteger)
    lorebook_id: uuid.UUID | None = None
    lorebook_ids: list[str] = Field(
        default_factory=list, sa_type=pg.JSONB, description="Books a persona brings."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=sa.JSON,
        description="Default sampler settings of its conversations (`SamplerSettings`).",
    )
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class SceneTemplate(SQLModel, table=True):
    """A scene to start a conversation in: where it happens, what is going on, how it looks."""

    __tablename__ = "scene_templates"
    __table_args__ = {"schema": "catalog"}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID
    name: str
    description: str = ""
    setting: str = ""
    scenario: str = ""
    scene_prompt: str = ""
    atmosphere: str = ""
    scene_starters: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    preview_image_url: str | None = None
    tags: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    content_rating: str = "sfw"
    visibility: str = "private"
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
