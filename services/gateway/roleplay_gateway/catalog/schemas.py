"""Admin request shapes of providers, models and prompt templates."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from roleplay_common.changes import Changes
from roleplay_common.provider_keys import ProviderKeyEnv
from roleplay_common.text import SafeJsonObject, SafeText

ProviderKind = Literal["openai_compatible", "local_worker", "fal", "replicate", "openai_images"]
MAX_INT = 2**31 - 1  # the largest PostgreSQL `integer`
# Costs are stored as numeric(18, 6).
Cost = Field(default=Decimal(0), ge=0, max_digits=18, decimal_places=6)
OptionalCost = Field(default=None, ge=0, max_digits=18, decimal_places=6)


class ProviderCreate(BaseModel):
    name: SafeText = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    display_name: SafeText = Field(default="", max_length=120)
    kind: ProviderKind = "openai_compatible"
    base_url: SafeText = Field(min_length=1, max_length=2000, pattern=r"^https?://")
    api_key_env: ProviderKeyEnv | None = Field(
        default=None,
        max_length=120,
        description=(
            "Name of the environment variable that holds the key (never the key); it must"
            " match the allow-list `ROLEPLAY_PROVIDER_KEY_ENV_ALLOWED`."
        ),
    )
    health_url: SafeText | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    is_active: bool = True


class ProviderUpdate(Changes):
    nullable = frozenset({"api_key_env", "health_url"})

    display_name: SafeText | None = Field(default=None, max_length=120)
    base_url: SafeText | None = Field(
        default=None, min_length=1, max_length=2000, pattern=r"^https?://"
    )
    api_key_env: ProviderKeyEnv | None = Field(default=None, max_length=120)
    health_url: SafeText | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    is_active: bool | None = None


class ModelCreate(BaseModel):
    key: SafeText = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
    display_name: SafeText = Field(default="", max_length=200)
    provider_id: uuid.UUID
    model_name: SafeText = Field(min_length=1, max_length=200)
    modality: Literal["chat", "image"]
    task: SafeText = Field(min_length=1, max_length=64)
    is_default: bool = False
    priority: int = Field(default=100, ge=0, le=100_000)
    is_active: bool = True
    context_window: int = Field(default=8192, ge=256, le=10_000_000)
    max_output_tokens: int = Field(default=512, ge=1, le=1_000_000)
    input_cost_per_mtok: Decimal = Cost
    output_cost_per_mtok: Decimal = Cost
    cost_per_image: Decimal = Cost
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    max_concurrent_streams: int = Field(
        default=4096, ge=1, le=1_000_000, description="Streams this model serves at once."
    )
    input_defaults: SafeJsonObject = Field(default_factory=dict)


class ModelUpdate(Changes):
    display_name: SafeText | None = Field(default=None, max_length=200)
    model_name: SafeText | None = Field(default=None, min_length=1, max_length=200)
    task: SafeText | None = Field(default=None, min_length=1, max_length=64)
    is_default: bool | None = None
    priority: int | None = Field(default=None, ge=0, le=100_000)
    is_active: bool | None = None
    context_window: int | None = Field(default=None, ge=256, le=10_000_000)
    max_output_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    input_cost_per_mtok: Decimal | None = OptionalCost
    output_cost_per_mtok: Decimal | None = OptionalCost
    cost_per_image: Decimal | None = OptionalCost
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)
    max_concurrent_streams: int | None = Field(default=None, ge=1, le=1_000_000)
    input_defaults: SafeJsonObject | None = None


class PromptTemplateCreate(BaseModel):
    name: SafeText = Field(min_length=1, max_length=200)
    use_case: SafeText = Field(default="character_roleplay", min_length=1, max_length=64)
    content_mode: Literal["sfw", "nsfw"] = "sfw"
    target_model: SafeText | None = Field(default=None, max_length=120)
    system_prompt: SafeText = Field(min_length=1, max_length=50_000)
    is_active: bool = True
    version: int = Field(default=1, ge=1, le=MAX_INT)


class PromptTemplateUpdate(Changes):
    nullable = frozenset({"target_model"})

    name: SafeText | None = Field(default=None, min_length=1, max_length=200)
    content_mode: Literal["sfw", "nsfw"] | None = None
    target_model: SafeText | None = Field(default=None, max_length=120)
    system_prompt: SafeText | None = Field(default=None, min_length=1, max_length=50_000)
    is_active: bool | None = None
    version: int | None = Field(default=None, ge=1, le=MAX_INT)


class ProviderPublic(BaseModel):
    """A provider; never its key: only the variable's name, and whether it is set."""

    id: uuid.UUID
    name: str
    display_name: str
    kind: str
    base_url: str
    api_key_env: str | None
    api_key_configured: bool
    health_url: str | None
    is_active: bool
    created_at: datetime


class ModelPublic(BaseModel):
    """A model as admins see it; costs are decimal strings."""

    id: uuid.UUID
    key: str
    display_name: str
    provider_id: uuid.UUID
    provider: str | None
    model_name: str
    modality: str
    task: str
    is_default: bool
    priority: int
    is_active: bool
    context_window: int
    max_output_tokens: int
    input_cost_per_mtok: str
    output_cost_per_mtok: str
    cost_per_image: str
    timeout_seconds: float
    max_concurrent_streams: int
    input_defaults: dict[str, Any]


class ModelChoice(BaseModel):
    """An active model a client may pick; `available` reflects provider and worker health."""

    key: str
    display_name: str
    provider: str
    modality: str
    task: str
    is_default: bool
    available: bool


class PromptTemplatePublic(BaseModel):
    id: uuid.UUID
    name: str
    use_case: str
    content_mode: str
    target_model: str | None
    system_prompt: str
    is_active: bool
    version: int
    updated_at: datetime


class WorkerStatus(BaseModel):
    """A local worker's health as last checked."""

    name: str
    is_healthy: bool | None = None
    last_checked: datetime | None = None
    valid_until: datetime | None = None
    response_time_ms: int | None = None
    health_error: str | None = None
    worker_url: str | None = None
    usable: bool
