"""The 402 check before a turn or a scene job, when quotas are on (`GATEWAY_QUOTAS_ENABLED`)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from roleplay_common.http import ApiError
from roleplay_gateway.internal_client import InternalClient


class QuotaCheck:
    def __init__(self, usage: InternalClient) -> None:
        self.usage = usage

    async def __call__(self, user_id: uuid.UUID) -> None:
        balance = await self.usage.call("GET", f"/internal/balances/{user_id}")
        if Decimal(balance["balance"]) <= 0:
            raise ApiError(
                402,
                "balance_exhausted",
                "your credit balance is used up",
                {"balance": balance["balance"]},
            )
