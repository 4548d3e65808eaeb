"""Response shape of a kept image; its URLs are signed and expire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AssetPublic(BaseModel):
    id: uuid.UUID
    asset_type: str
    image_url: str
    thumbnail_url: str
    content_type: str
    width: int | None
    height: int | None
    roleplay_metadata: dict[str, Any] = Field(
        description="`conversation_id`, `character_id`, `scene_id` and what else was recorded."
    )
    created_at: datetime
