"""Keeps the gateway's bookkeeping tables small: feed entries older than
`GATEWAY_FEED_RETENTION_DAYS`, and accepted scene requests older than a day (by then the
scenes service has long recorded the job)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime
from roleplay_gateway.feed.store import feed
from roleplay_gateway.scenes.endpoints import scene_requests

log = get_logger(__name__)


async def prune(runtime: Runtime, feed_retention: timedelta) -> int:
    now = datetime.now(UTC)
    async with runtime.db.transaction() as session:
        pruned = await session.execute(
            sa.delete(feed).where(feed.c.created_at < now - feed_retention)
        )
        await session.execute(
            sa.delete(scene_requests).where(scene_requests.c.created_at < now - timedelta(days=1))
        )
    return int(pruned.rowcount or 0)  # type: ignore[attr-defined]


async def keep_pruning(runtime: Runtime, feed_retention: timedelta, interval: float = 3600) -> None:
    while True:
        try:
            await prune(runtime, feed_retention)
        except Exception:
            log.exception("pruning the feed failed")
        await asyncio.sleep(interval)
