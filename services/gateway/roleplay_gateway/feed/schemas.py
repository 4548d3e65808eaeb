"""The events of the conversation event stream (`data:` of each SSE event).

Turn events carry the same payloads as the turn stream; image URLs are signed when sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from roleplay_gateway.turns.schemas import TurnCompleted, TurnFailed, TurnFailure, TurnStarted


class MessageCreated(BaseModel):
    """`message.created`: a user message (id, sender, turn) or a stored assistant message."""

    id: uuid.UUID
    sender: str
    turn_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    content: str | None = None
    message_type: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    alternatives_count: int | None = None
    selected_index: int | None = None
    scene_ids: list[uuid.UUID] | None = None


class MessageEdited(MessageCreated):
    """`message.edited`: the message as it now reads, and the conversation's new preview."""

    last_message_preview: str


class MessageDeleted(BaseModel):
    """`message.deleted`: which message went, and the conversation's new preview."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    last_message_preview: str


class SceneProgress(BaseModel):
    """`scene.queued` and `scene.progress`."""

    job_id: uuid.UUID
    scene_id: uuid.UUID
    status: str
    progress: float
    stage: str | None


class SceneCompleted(BaseModel):
    """`scene.completed`, with signed URLs of the image and its thumbnail."""

    job_id: uuid.UUID
    scene_id: uuid.UUID
    prompt: str
    generation_mode: str
    previous_scene_id: uuid.UUID | None
    message_id: uuid.UUID | None
    image_url: str
    thumbnail_url: str


class SceneFailed(BaseModel):
    """`scene.failed`, also when cancelled."""

    job_id: uuid.UUID
    scene_id: uuid.UUID
    error: TurnFailure
    cancelled: bool


class LibrarySaved(BaseModel):
    """`library.saved`: the scene is kept in the library."""

    asset_id: uuid.UUID
    scene_id: uuid.UUID
    image_url: str
    thumbnail_url: str


class MemoryChanged(BaseModel):
    """`memory.updated`: the conversation's memory changed (refetch
    `GET /v1/conversations/{id}/memory`)."""

    conversation_id: uuid.UUID
    item_ids: list[uuid.UUID]
    summary_changed: bool


FEED_EVENTS: dict[str, type[BaseModel]] = {
    "message.created": MessageCreated,
    "message.edited": MessageEdited,
    "message.deleted": MessageDeleted,
    "turn.started": TurnStarted,
    "turn.completed": TurnCompleted,
    "turn.failed": TurnFailed,
    "scene.queued": SceneProgress,
    "scene.progress": SceneProgress,
    "scene.completed": SceneCompleted,
    "scene.failed": SceneFailed,
    "library.saved": LibrarySaved,
    "memory.updated": MemoryChanged,
}
