"""Kafka subscribers of the gateway."""

import sqlalchemy as sa
from sqlmodel import col

from roleplay_common.broker import EventRouter
from roleplay_common.db import claim_event
from roleplay_common.events import EventEnvelope, UsageBalanceChanged
from roleplay_common.service import Runtime
from roleplay_gateway.auth.store import Profile


def register(router: EventRouter, runtime: Runtime) -> None:
    """Declare this service's event handlers on `router`."""

    @router.handles(UsageBalanceChanged, consumer="balances")
    async def on_balance_changed(change: UsageBalanceChanged, envelope: EventEnvelope) -> None:
        """Keep the profile's `token_balance` as the usage service last reported it."""
        async with runtime.db.transaction() as session:
            if not await claim_event(session, runtime.schema, envelope, consumer="balances"):
                return
            await session.execute(
                sa.update(Profile)
                .where(col(Profile.user_id) == change.user_id)
                .values(token_balance=change.balance)
            )
