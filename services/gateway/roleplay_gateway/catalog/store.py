"""Tables of providers, models, prompt templates and system config (schema `catalog`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class Provider(SQLModel, table=True):
    """A model provider. It names the environment variable holding its key; never the key."""

    __tablename__ = "providers"
    __table_args__ = {"schema": "catalog"}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str
    display_name: str = ""
    kind: str
    base_url: str
    api_key_env: str | None = None
    health_url: str | None = None
    is_active: bool = True
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class Model(SQLModel, table=True):
    __tablename__ = "models"
    __table_args__ = {"schema": "catalog"}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    key: str
    display_name: str = ""
    provider_id: uuid.UUID
    model_name: str
    modality: str
    task: str
    is_default: bool = False
    priority: int = 100
    is_active: bool = True
    context_window: int = 8192
    max_output_tokens: int = 512
    input_cost_per_mtok: Decimal = Field(default=Decimal(0), sa_type=sa.Numeric(18, 6))
    output_cost_per_mtok: Decimal = Field(default=Decimal(0), sa_type=sa.Numeric(18, 6))
    cost_per_image: Decimal = Field(default=Decimal(0), sa_type=sa.Numeric(18, 6))
    timeout_seconds: float = 60.0
    max_concurrent_streams: int = 4096
    input_defaults: dict[str, Any] = Field(default_factory=dict, sa_type=pg.JSONB)
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class PromptTemplateRow(SQLModel, table=True):
    __tablename__ = "prompt_templates"
    __table_args__ = {"schema": "catalog"}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str
    use_case: str
    content_mode: str = "sfw"
    target_model: str | None = None
    system_prompt: str
    is_active: bool = True
    version: int = 1
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class SystemConfig(SQLModel, table=True):
    __tablename__ = "system_config"
    __table_args__ = {"schema": "catalog"}

    key: str = Field(primary_key=True)
    value: dict[str, Any] = Field(default_factory=dict, sa_type=pg.JSONB)
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
