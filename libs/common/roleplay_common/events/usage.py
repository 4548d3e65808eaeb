"""Usage events: one `UsageRecorded` per provider call, and balance changes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from roleplay_common.events.envelope import Event

RequestType = Literal[
    "chat",
    "memory",
    "scene_narrative",
    "image",
    "image_i2i",
    "image_modification",
    "prompt_enhancement",
    "character_suggestions",
    "portrait",
]
CallStatus = Literal["success", "error", "timeout", "cancelled"]


class UsageRecorded(Event):
    """Fact: one call to a model provider happened (successful or not)."""

    event_type: ClassVar[str] = "usage.recorded"
    topic: ClassVar[str] = "usage.recorded"

    user_id: UUID
    provider: str
    model: str
    request_type: RequestType
    tokens_in: int = 0
    tokens_out: int = 0
    cost_in: Decimal = Decimal(0)
    cost_out: Decimal = Decimal(0)
    status: CallStatus
    response_status: int | None = Field(default=None, description="HTTP status of the call.")
    latency_ms: int
    occurred_at: datetime
    reference_id: str | None = Field(default=None, description="Turn or job id.")
    error_code: str | None = None

    @property
    def cost(self) -> Decimal:
        return self.cost_in + self.cost_out

    def partition_key(self) -> str:
        return str(self.user_id)


class UsageBalanceChanged(Event):
    """Fact: a user's credit balance changed (debit by a call, or an admin grant)."""

    event_type: ClassVar[str] = "usage.balance.changed"
    topic: ClassVar[str] = "usage.balance"

    user_id: UUID
    balance: Decimal
    delta: Decimal
    reason: Literal["usage", "grant", "adjustment"]
    reference_id: str | None = None
    occurred_at: datetime

    def partition_key(self) -> str:
        return str(self.user_id)
