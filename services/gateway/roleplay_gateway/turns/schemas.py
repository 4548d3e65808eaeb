"""A started turn's answer, and the events of its stream (`data:` of each SSE event)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from roleplay_gateway.conversations.schemas import MessagePublic

TurnKind = Literal["send", "regenerate", "continue"]


class TurnAccepted(BaseModel):
    turn_id: uuid.UUID
    user_message_id: uuid.UUID | None = Field(description="The sent message; null unless `send`.")
    stream_url: str


class TurnStarted(BaseModel):
    """`turn.started`, SSE id 0."""

    turn_id: uuid.UUID
    conversation_id: uuid.UUID
    user_message_id: uuid.UUID | None
    kind: TurnKind


class TurnDelta(BaseModel):
    """`delta`: the next piece of the reply; SSE id = `seq` (1, 2, 3 …)."""

    turn_id: uuid.UUID
    seq: int
    text: str


class TurnRestarted(BaseModel):
    """`turn.restarted`: the reply starts over (the chat instance producing it stopped and
    another took the turn over). Drop the text of the deltas before it; the reply is the
    text of the deltas after it. SSE id = `seq`, continuing the stream without a gap."""

    turn_id: uuid.UUID
    seq: int
    reason: str


class ReplyUsage(BaseModel):
    """What the reply cost; empty for a turn rebuilt from the chat service's record."""

    provider: str | None = None
    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: Decimal | None = None
    latency_ms: int | None = None
    first_token_ms: int | None = None


class TurnCompleted(BaseModel):
    """`turn.completed`: the stored assistant message; the concatenated deltas (after the
    last `turn.restarted`, if any) are its text."""

    turn_id: uuid.UUID
    message: MessagePublic
    usage: ReplyUsage


class TurnFailure(BaseModel):
    code: str
    message: str


class TurnFailed(BaseModel):
    """`turn.failed`: the turn ended without a reply."""

    turn_id: uuid.UUID
    error: TurnFailure


TURN_EVENTS: dict[str, type[BaseModel]] = {
    "turn.started": TurnStarted,
    "delta": TurnDelta,
    "turn.restarted": TurnRestarted,
    "turn.completed": TurnCompleted,
    "turn.failed": TurnFailed,
}
