"""Request and response models of the memory routes."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from roleplay_common.changes import Changes
from roleplay_common.text import SafeText

Tier = Literal["conversation", "character", "profile"]
MAX_TEXT = 300


class MemoryItemPublic(BaseModel):
    id: uuid.UUID
    tier: Tier
    text: str
    pinned: bool
    character_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    source_message_ids: list[str] = Field(
        description="The messages it was learned from (empty when added by hand)."
    )
    origin: Literal["extracted", "user"] = Field(
        description="`user` once added or edited by the user."
    )
    created_at: str
    updated_at: str


class ConversationMemory(BaseModel):
    summary: str = Field(description="The story so far, of messages folded out of the prompt.")
    items: list[MemoryItemPublic] = Field(
        description="Every live item this conversation draws on, of all three tiers."
    )


class MemoryCreate(BaseModel):
    tier: Tier
    text: SafeText = Field(min_length=1, max_length=MAX_TEXT)
    character_id: uuid.UUID | None = Field(
        default=None, description="Required for `character` unless `conversation_id` is given."
    )
    conversation_id: uuid.UUID | None = Field(
        default=None, description="Required for `conversation`."
    )
    pinned: bool = False


class MemoryEdit(Changes):
    text: SafeText | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    pinned: bool | None = None
