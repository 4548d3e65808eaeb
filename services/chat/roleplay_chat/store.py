"""Tables of the `chat` schema and the queries on them.

* `conversations`: one per user and character, with the persona, title, status, the last
  scene image (set from `library.asset.saved`), the current location, memory and the
  sampler settings set on it.
* `messages`: user and assistant messages in order (`position`); an assistant message keeps
  every alternative (swipe) in `alternatives` (when and by which model each was written in
  `alternative_meta`), and `content` is the selected one.
* `turns`: one per requested reply, with its state and the command that asked for it, so an
  interrupted turn can be found and ended.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

SCHEMA = "chat"
PREVIEW_CHARS = 160  # of the newest message, shown on the dashboard

metadata = SQLModel.metadata


def _now() -> datetime:
    return datetime.now(UTC)


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        sa.Index("ix_conversations_user_activity", "user_id", "status", "updated_at"),
        {"schema": SCHEMA},
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(index=True)
    character_id: uuid.UUID
    persona_id: uuid.UUID | None = None
    scene_template_id: uuid.UUID | None = None
    title: str
    status: str = Field(default="active")
    model: str | None = None
    character_name: str = ""
    character_image_url: str | None = None
    last_message_preview: str = ""
    last_scene_image: dict[str, Any] | None = Field(default=None, sa_type=pg.JSONB)
    current_location: str | None = None
    memory_summary: str = ""
    memory_facts: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    memory_through_position: int = 0
    auto_keep_scenes: bool = False
    settings: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=pg.JSONB,
        description="Set sampler settings (`SamplerSettings`).",
    )
    created_at: datetime = Field(default_factory=_now, sa_type=_tz())
    updated_at: datetime = Field(default_factory=_now, sa_type=_tz())


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        sa.Index("ix_messages_conversation_position", "conversation_id", "position"),
        sa.UniqueConstraint("conversation_id", "client_message_id", name="uq_messages_client_id"),
        {"schema": SCHEMA},
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    conversation_id: uuid.UUID = Field(
        sa_column_args=[sa.ForeignKey(f"{SCHEMA}.conversations.id", ondelete="CASCADE")]
    )
    user_id: uuid.UUID
    position: int = Field(
        sa_column_args=[sa.Identity(always=False)], sa_type=sa.BigInteger, default=None
    )
    sender: str
    message_type: str = "text"
    content: str
    alternatives: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    selected_index: int = 0
    alternative_meta: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_type=pg.JSONB,
        description="Per alternative: `{created_at, model}` (older rows may have fewer entries).",
    )
    turn_id: uuid.UUID | None = None
    client_message_id: str | None = None
    scene_ids: list[str] = Field(default_factory=list, sa_type=pg.JSONB)
    created_at: datetime = Field(default_factory=_now, sa_type=_tz())
    updated_at: datetime = Field(default_factory=_now, sa_type=_tz())


class Turn(SQLModel, table=True):
    __tablename__ = "turns"
    __table_args__ = (
        sa.Index("ix_turns_unfinished", "status", postgresql_where=sa.text("finished_at is null")),
        {"schema": SCHEMA},
    )

    id: uuid.UUID = Field(primary_key=True)
    conversation_id: uuid.UUID = Field(index=True)
    user_id: uuid.UUID
    kind: str
    status: str = "requested"
    user_message_id: uuid.UUID | None = None
    assistant_message_id: uuid.UUID | None = None
    model_key: str | None = None
    deltas: int = 0
    error_code: str | None = None
    error_message: str | None = None
    command: dict[str, Any] = Field(default_factory=dict, sa_type=pg.JSONB)
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_type=_tz())
    restarts: int = 0
    created_at: datetime = Field(default_factory=_now, sa_type=_tz())
    finished_at: datetime | None = Field(default=None, sa_type=_tz())


MESSAGES: sa.Table = Message.__table__  # type: ignore[attr-defined]
TURNS: sa.Table = Turn.__table__  # type: ignore[attr-defined]
CONVERSATIONS: sa.Table = Conversation.__table__  # type: ignore[attr-defined]


def message_view(m: Message) -> dict[str, Any]:
    """A message as the public API shows it."""
    return {
        "id": str(m.id),
        "conversation_id": str(m.conversation_id),
        "sender": m.sender,
        "content": m.content,
        "message_type": m.message_type,
        "created_at": m.created_at.isoformat(),
        "updated_at": m.updated_at.isoformat(),
        "turn_id": str(m.turn_id) if m.turn_id else None,
        "alternatives_count": max(len(m.alternatives), 1),
        "selected_index": m.selected_index,
        "scene_ids": list(m.scene_ids),
    }


async def get_conversation(
    session: AsyncSession, conversation_id: uuid.UUID, *, lock: bool = False
) -> Conversation | None:
    stmt = sa.select(Conversation).where(col(Conversation.id) == conversation_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class RecentHistory:
    messages: list[tuple[str, str]]
    """`(sender, content)` of the newest messages, oldest first."""
    total: int
    """How many messages the conversation holds, `messages` being only its newest."""


async def recent_history(
    session: AsyncSession, conversation_id: uuid.UUID, *, limit: int
) -> RecentHistory:
    """The newest `limit` messages with only the columns a prompt needs, and the
    conversation's message count, in one statement (the count is an index-only subquery)."""
    total = (
        sa.select(sa.func.count())
        .select_from(MESSAGES)
        .where(MESSAGES.c.conversation_id == conversation_id)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            sa.select(MESSAGES.c.sender, MESSAGES.c.content, total.label("total"))
            .where(MESSAGES.c.conversation_id == conversation_id)
            .order_by(MESSAGES.c.position.desc())
            .limit(limit)
        )
    ).all()
    return RecentHistory(
        messages=[(sender, content) for sender, content, _ in reversed(rows)],
        total=rows[0].total if rows else 0,
    )


async def last_assistant_message(
    session: AsyncSession, conversation_id: uuid.UUID
) -> Message | None:
    return (
        await session.execute(
            sa.select(Message)
            .where(
                col(Message.conversation_id) == conversation_id,
                col(Message.sender) == "assistant",
            )
            .order_by(col(Message.position).desc())
            .limit(1)
            .with_for_update()
        )
    ).scalar_one_or_none()


def alternative_stamp(model: str | None, at: datetime | None = None) -> dict[str, Any]:
    """The `alternative_meta` entry of an alternative written now (or `at`)."""
    return {"created_at": (at or _now()).isoformat(), "model": model}


async def newest_message(session: AsyncSession, conversation_id: uuid.UUID) -> Message | None:
    return (
        await session.execute(
            sa.select(Message)
            .where(col(Message.conversation_id) == conversation_id)
            .order_by(col(Message.position).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
