"""Response shapes of usage reports and balances (the usage service's, as shown)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelUsage(BaseModel):
    model: str
    request_type: str
    requests: int
    tokens_in: int
    tokens_out: int
    cost: Decimal


class MyUsage(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    user_id: uuid.UUID
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    requests: int
    tokens_in: int
    tokens_out: int
    cost: Decimal
    by_model: list[ModelUsage]
    balance: Decimal = Field(description="Credits left.")


class UsageLine(BaseModel):
    bucket_start: datetime | None
    provider: str
    model: str | None
    requests: int
    successes: int
    errors: int
    tokens_in: int
    tokens_out: int
    cost: Decimal
    latency_sum_ms: int
    latency_max_ms: int
    latency_avg_ms: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None


class UsageReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    group_by: Literal["provider", "model", "day", "hour"]
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    items: list[UsageLine]


class Balance(BaseModel):
    user_id: uuid.UUID
    balance: Decimal
