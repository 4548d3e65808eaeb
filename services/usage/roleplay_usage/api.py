"""Internal HTTP API of the usage service (called by the gateway, not by clients)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.dialects.postgresql import insert

from roleplay_common.db import add_to_outbox
from roleplay_common.events import UsageBalanceChanged
from roleplay_common.http import ApiError
from roleplay_common.internal_api import RuntimeDep, SessionDep
from roleplay_usage.domain import histogram
from roleplay_usage.ingest import change_balance
from roleplay_usage.settings import UsageSettings
from roleplay_usage.store import balances, grants, usage_aggregates, usage_logs

router = APIRouter(prefix="/internal", tags=["internal"])


def _settings(request: Request) -> UsageSettings:
    settings: UsageSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[UsageSettings, Depends(_settings)]


def _range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or datetime.now(UTC) + timedelta(minutes=1)
    start = start or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "validation_error", "`from` and `to` need a time zone (RFC 3339)")
    if start >= end:
        raise ApiError(422, "validation_error", "`from` must be before `to`")
    return start, end


From = Annotated[datetime | None, Query(alias="from")]
To = Annotated[datetime | None, Query(alias="to")]


@router.get("/usage/users/{user_id}")
async def user_usage(
    user_id: uuid.UUID, session: SessionDep, start: From = None, end: To = None
) -> dict[str, Any]:
    """One user's own calls over a range: totals and per model."""
    start, end = _range(start, end)
    c = usage_logs.c
    rows = (
        await session.execute(
            sa.select(
                c.model,
                c.request_type,
                sa.func.count().label("requests"),
                sa.func.sum(c.tokens_in).label("tokens_in"),
                sa.func.sum(c.tokens_out).label("tokens_out"),
                sa.func.sum(c.cost_in + c.cost_out).label("cost"),
            )
            .where(c.user_id == user_id, c.occurred_at >= start, c.occurred_at < end)
            .group_by(c.model, c.request_type)
            .order_by(c.model, c.request_type)
        )
    ).all()
    by_model = [
        {
            "model": r.model,
            "request_type": r.request_type,
            "requests": r.requests,
            "tokens_in": int(r.tokens_in or 0),
            "tokens_out": int(r.tokens_out or 0),
            "cost": str(r.cost or Decimal(0)),
        }
        for r in rows
    ]
    return {
        "user_id": str(user_id),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "requests": sum(r["requests"] for r in by_model),
        "tokens_in": sum(r["tokens_in"] for r in by_model),
        "tokens_out": sum(r["tokens_out"] for r in by_model),
        "cost": str(sum((Decimal(r["cost"]) for r in by_model), Decimal(0))),
        "by_model": by_model,
    }


@router.get("/usage/aggregates")
async def aggregates(
    session: SessionDep,
    start: From = None,
    end: To = None,
    group_by: Literal["provider", "model", "day", "hour"] = "hour",
) -> dict[str, Any]:
    """Totals grouped by provider, model, day or hour, with latency percentiles."""
    start, end = _range(start, end)
    c = usage_aggregates.c
    kind = "day" if group_by == "day" else "hour"
    rows = (
        await session.execute(
            sa.select(usage_aggregates).where(
                c.bucket_kind == kind, c.bucket_start >= start, c.bucket_start < end
            )
        )
    ).all()
    groups: dict[Any, dict[str, Any]] = {}
    for r in rows:
        key: Any = {
            "provider": (r.provider,),
            "model": (r.provider, r.model),
            "day": (r.bucket_start, r.provider, r.model),
            "hour": (r.bucket_start, r.provider, r.model),
        }[group_by]
        g = groups.setdefault(
            key,
            {
                "requests": 0,
                "successes": 0,
                "errors": 0,
                "tokens_in": 0,
                "tokens_out": 0,
                "cost": Decimal(0),
                "latency_sum_ms": 0,
                "hist": [0] * histogram.SIZE,
            },
        )
        for name in (
            "requests",
            "successes",
            "errors",
            "tokens_in",
            "tokens_out",
            "latency_sum_ms",
        ):
            g[name] += getattr(r, name)
        g["cost"] += r.cost
        g["hist"] = histogram.merge(g["hist"], r.latency_hist)
    items = []
    for key, g in sorted(groups.items(), key=lambda kv: [str(k) for k in kv[0]]):
        item: dict[str, Any] = {}
        if group_by in ("day", "hour"):
            item["bucket_start"] = key[0].isoformat()
            item["provider"], item["model"] = key[1], key[2]
        elif group_by == "model":
            item["provider"], item["model"] = key
        else:
            item["provider"] = key[0]
        hist = g.pop("hist")
        item.update(
            {
                **g,
                "cost": str(g["cost"]),
                "latency_avg_ms": g["latency_sum_ms"] / g["requests"] if g["requests"] else None,
                "latency_p50_ms": histogram.percentile(hist, 0.50),
                "latency_p95_ms": histogram.percentile(hist, 0.95),
                "latency_p99_ms": histogram.percentile(hist, 0.99),
            }
        )
        items.append(item)
    return {"group_by": group_by, "from": start.isoformat(), "to": end.isoformat(), "items": items}


@router.get("/balances/{user_id}")
async def balance(user_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    value = await session.scalar(sa.select(balances.c.balance).where(balances.c.user_id == user_id))
    return {
        "user_id": str(user_id),
        "balance": str(value if value is not None else settings.initial_credits),
    }


class Grant(BaseModel):
    amount: Decimal = Field(description="Credits to add (negative to take away).")
    reason: str = Field(default="admin grant", max_length=500)
    idempotency_key: str = Field(min_length=1, max_length=200)


@router.post("/balances/{user_id}/grants")
async def grant(
    user_id: uuid.UUID,
    body: Grant,
    session: SessionDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Change a balance once per idempotency key; publishes `usage.balance.changed`."""
    claimed = await session.execute(
        insert(grants)
        .values(
            idempotency_key=body.idempotency_key,
            user_id=user_id,
            amount=body.amount,
            reason=body.reason,
            balance_after=0,
        )
        .on_conflict_do_nothing()
        .returning(grants.c.idempotency_key)
    )
    if claimed.first() is None:
        done = (
            await session.execute(
                sa.select(grants).where(grants.c.idempotency_key == body.idempotency_key)
            )
        ).one()
        if done.user_id != user_id or done.amount != body.amount:
            raise ApiError(409, "conflict", "that idempotency key was used for another grant")
        return {"user_id": str(user_id), "balance": str(done.balance_after)}
    value = await change_balance(session, user_id, body.amount, settings.initial_credits)
    await session.execute(
        sa.update(grants)
        .where(grants.c.idempotency_key == body.idempotency_key)
        .values(balance_after=value)
    )
    await add_to_outbox(
        session,
        runtime.schema,
        runtime.topics,
        runtime.envelope(
            UsageBalanceChanged(
                user_id=user_id,
                balance=value,
                delta=body.amount,
                reason="grant" if body.amount >= 0 else "adjustment",
                reference_id=body.idempotency_key,
                occurred_at=datetime.now(UTC),
            )
        ),
    )
    return {"user_id": str(user_id), "balance": str(value)}
