"""Tables of lorebooks and of the books attached to conversations (schema `catalog`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class Lorebook(SQLModel, table=True):
    """A book of world-info entries. `entries` holds `schemas.LorebookEntryData` dicts in
    `json` (not `jsonb`), so each entry's `extensions` keeps its key order."""

    __tablename__ = "lorebooks"
    __table_args__ = {"schema": "catalog"}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID
    name: str
    description: str = ""
    scan_depth: int | None = None
    token_budget: int | None = None
    recursive_scanning: bool = False
    extensions: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    extra: dict[str, Any] = Field(
        default_factory=dict, sa_type=sa.JSON, description="Book fields outside the spec."
    )
    entries: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    visibility: str = "private"
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class ConversationLorebooks(SQLModel, table=True):
    """Books a conversation (a chat-service record) brings, kept here by the gateway."""

    __tablename__ = "conversation_lorebooks"
    __table_args__ = {"schema": "catalog"}

    conversation_id: uuid.UUID = Field(primary_key=True)
    owner_id: uuid.UUID
    lorebook_ids: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
