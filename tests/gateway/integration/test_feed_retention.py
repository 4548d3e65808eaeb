"""Old conversation feed entries are pruned; recent ones stay."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.service import Runtime
from roleplay_gateway.app import MIGRATIONS
from roleplay_gateway.feed.retention import prune
from roleplay_gateway.feed.store import feed
from roleplay_gateway.settings import GatewaySettings
from roleplay_gateway.store import SCHEMA


async def test_old_feed_entries_are_pruned(fresh_database: str) -> None:
    await asyncio.to_thread(upgrade_to_head, fresh_database, MIGRATIONS)
    settings = GatewaySettings(database={"url": fresh_database})  # type: ignore[arg-type]
    runtime = Runtime.create("gateway", SCHEMA, settings)
    conversation = uuid.uuid4()
    try:
        async with runtime.db.transaction() as session:
            for age in (40, 1):
                await session.execute(
                    sa.insert(feed).values(
                        event_id=uuid.uuid4(),
                        name="turn.started",
                        conversation_id=conversation,
                        user_id=uuid.uuid4(),
                        data={},
                        created_at=datetime.now(UTC) - timedelta(days=age),
                    )
                )
        assert await prune(runtime, timedelta(days=30)) == 1
        async with runtime.db.transaction() as session:
            left = await session.scalar(sa.select(sa.func.count()).select_from(feed))
        assert left == 1
    finally:
        await runtime.db.dispose()
