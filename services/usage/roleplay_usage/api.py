"""Internal HTTP API of the usage service (called by the gateway, not by clients)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from roleplay_common.db import add_to_outbox
from roleplay_common.events import UsageBalanceChanged
from roleplay_common.http import ApiError
from roleplay_common.internal_api import RuntimeDep, SessionDep
from roleplay_common.text import SafeText
from roleplay_usage import store
from roleplay_usage.domain.report import GroupBy, ReportLine, report, rows_read_for
from roleplay_usage.settings import UsageSettings

router = APIRouter(prefix="/internal", tags=["internal"])

DEFAULT_RANGE = timedelta(days=30)


async def _settings(request: Request) -> UsageSettings:
    settings: UsageSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[UsageSettings, Depends(_settings)]
From = Annotated[datetime | None, Query(alias="from", description="Start (RFC 3339).")]
To = Annotated[datetime | None, Query(alias="to", description="End, exclusive (RFC 3339).")]


def _range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """[start, end); by default the last 30 days up to now."""
    end = end or datetime.now(UTC) + timedelta(minutes=1)
    start = start or end - DEFAULT_RANGE
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "validation_error", "`from` and `to` need a time zone (RFC 3339)")
    if start >= end:
        raise ApiError(422, "validation_error", "`from` must be before `to`")
    return start, end


class ModelUsage(BaseModel):
    model: str
    request_type: str
    requests: int
    tokens_in: int
    tokens_out: int
    cost: Decimal


class UserUsage(BaseModel):
    user_id: uuid.UUID
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    requests: int
    tokens_in: int
    tokens_out: int
    cost: Decimal
    by_model: list[ModelUsage]


class AggregateReport(BaseModel):
    group_by: GroupBy
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    items: list[ReportLine]


class Balance(BaseModel):
    user_id: uuid.UUID
    balance: Decimal


class Grant(BaseModel):
    amount: Decimal = Field(
        max_digits=18, decimal_places=6, description="Credits to add (negative to take away)."
    )
    reason: SafeText = Field(default="admin grant", max_length=500)
    idempotency_key: SafeText = Field(min_length=1, max_length=200)


@router.get("/usage/users/{user_id}", response_model_by_alias=True)
async def user_usage(
    user_id: uuid.UUID, session: SessionDep, start: From = None, end: To = None
) -> UserUsage:
    """One user's own calls over a range: totals and per model (only that user's logs)."""
    start, end = _range(start, end)
    by_model = [
        ModelUsage.model_validate(row, from_attributes=True)
        for row in await store.usage_by_model(session, user_id, start, end)
    ]
    return UserUsage(
        user_id=user_id,
        start=start,
        end=end,
        requests=sum(m.requests for m in by_model),
        tokens_in=sum(m.tokens_in for m in by_model),
        tokens_out=sum(m.tokens_out for m in by_model),
        cost=sum((m.cost for m in by_model), Decimal(0)),
        by_model=by_model,
    )


@router.get("/usage/aggregates", response_model_by_alias=True)
async def aggregates(
    session: SessionDep,
    start: From = None,
    end: To = None,
    group_by: GroupBy = "hour",
) -> AggregateReport:
    """Totals grouped by provider, model, day or hour, with errors and latency p50/p95/p99
    read from the buckets' histograms."""
    start, end = _range(start, end)
    rows = await store.bucket_rows(session, rows_read_for(group_by), start, end)
    return AggregateReport(group_by=group_by, start=start, end=end, items=report(rows, group_by))


@router.get("/balances/{user_id}")
async def balance(user_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> Balance:
    """A user's credits (the initial grant before their first call)."""
    value = await store.balance_of(session, user_id)
    return Balance(user_id=user_id, balance=settings.initial_credits if value is None else value)


@router.post("/balances/{user_id}/grants")
async def grant(
    user_id: uuid.UUID,
    body: Grant,
    session: SessionDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> Balance:
    """Change a balance once per idempotency key; publishes `usage.balance.changed`. A retry
    answers the balance the first request left; a key reused for another grant is a 409."""
    key = body.idempotency_key
    if not await store.claim_grant(session, key, user_id, body.amount, body.reason):
        earlier = await store.grant_by_key(session, key)
        if earlier.user_id != user_id or earlier.amount != body.amount:
            raise ApiError(409, "conflict", "that idempotency key was used for another grant")
        return Balance(user_id=user_id, balance=earlier.balance_after)
    changed = await store.change_balances(session, {user_id: body.amount}, settings.initial_credits)
    await store.set_grant_balance(session, key, changed[user_id])
    await add_to_outbox(
        session,
        runtime.schema,
        runtime.topics,
        runtime.envelope(
            UsageBalanceChanged(
                user_id=user_id,
                balance=changed[user_id],
                delta=body.amount,
                reason="grant" if body.amount >= 0 else "adjustment",
                reference_id=key,
                occurred_at=datetime.now(UTC),
            )
        ),
    )
    return Balance(user_id=user_id, balance=changed[user_id])
