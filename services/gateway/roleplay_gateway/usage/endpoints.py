"""Usage routes: a caller's own usage, admin aggregates and credit grants (usage service)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from roleplay_common.text import SafeText
from roleplay_gateway.auth.dependencies import AdminUser, CurrentUser
from roleplay_gateway.internal_client import InternalClient
from roleplay_gateway.openapi_document import errors
from roleplay_gateway.usage.schemas import Balance, MyUsage, UsageReport

router = APIRouter(prefix="/v1", tags=["usage"])


async def get_usage(request: Request) -> InternalClient:
    client: InternalClient = request.app.state.usage
    return client


UsageDep = Annotated[InternalClient, Depends(get_usage)]
From = Annotated[datetime | None, Query(alias="from")]
To = Annotated[datetime | None, Query(alias="to")]


def _range(start: datetime | None, end: datetime | None) -> dict[str, str | None]:
    return {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
    }


class CreditGrant(BaseModel):
    amount: Decimal = Field(description="Credits to add; negative to take away.")
    reason: SafeText = Field(default="admin grant", max_length=500)


@router.get("/usage/me", response_model=MyUsage)
async def my_usage(
    user: CurrentUser, usage: UsageDep, start: From = None, end: To = None
) -> dict[str, Any]:
    """The caller's own requests, tokens and cost (default: the last 30 days)."""
    result: dict[str, Any] = await usage.call(
        "GET", f"/internal/usage/users/{user.id}", params=_range(start, end)
    )
    balance = await usage.call("GET", f"/internal/balances/{user.id}")
    result["balance"] = balance["balance"]
    return result


@router.get("/admin/usage", tags=["admin"], response_model=UsageReport)
async def admin_usage(
    user: AdminUser,
    usage: UsageDep,
    start: From = None,
    end: To = None,
    group_by: Literal["provider", "model", "day", "hour"] = "hour",
) -> dict[str, Any]:
    """Aggregates over all users: requests, tokens, cost, errors, latency p50/p95/p99."""
    result: dict[str, Any] = await usage.call(
        "GET", "/internal/usage/aggregates", params={**_range(start, end), "group_by": group_by}
    )
    return result


@router.post(
    "/admin/users/{user_id}/credits",
    tags=["admin"],
    response_model=Balance,
    responses=errors(409),
)
async def grant_credits(
    user_id: uuid.UUID,
    body: CreditGrant,
    user: AdminUser,
    usage: UsageDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Add (or take away) credits; retried with the same `Idempotency-Key`, applied once."""
    result: dict[str, Any] = await usage.call(
        "POST",
        f"/internal/balances/{user_id}/grants",
        json={
            "amount": str(body.amount),
            "reason": body.reason,
            "idempotency_key": idempotency_key or str(uuid.uuid4()),
        },
    )
    return result
