"""Response shapes of conversations and messages (the chat service's records, as shown)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from roleplay_common.events import SamplerSettings
from roleplay_gateway.characters.schemas import CharacterRef


class ConversationPublic(BaseModel):
    id: uuid.UUID
    title: str
    status: Literal["active", "archived"]
    character_id: uuid.UUID
    persona_id: uuid.UUID | None
    scene_template_id: uuid.UUID | None
    model: str | None
    character: CharacterRef
    last_message_preview: str
    last_scene_image_url: str | None
    current_location: str | None
    auto_keep_scenes: bool
    lorebook_ids: list[uuid.UUID]
    settings: SamplerSettings = Field(
        default_factory=SamplerSettings,
        description="The settings set on this conversation (unset ones come from the character).",
    )
    created_at: datetime
    updated_at: datetime


class MessagePublic(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    sender: Literal["user", "assistant"]
    content: str
    message_type: str
    created_at: datetime
    updated_at: datetime
    turn_id: uuid.UUID | None
    alternatives_count: int
    selected_index: int
    scene_ids: list[uuid.UUID]


class AlternativePublic(BaseModel):
    """One swipe of a message: its text, when and by which model it was written."""

    index: int
    content: str
    created_at: datetime
    model: str | None


class ForkRequest(BaseModel):
    message_id: uuid.UUID = Field(description="The last message the fork keeps.")
