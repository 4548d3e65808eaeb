"""Wakes this instance's conversation streams when the feed grows (PostgreSQL LISTEN)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import asyncpg

from roleplay_gateway.feed.store import CHANNEL


class FeedNotifier:
    def __init__(self, database_url: str) -> None:
        self.url = database_url.replace("+asyncpg", "")
        self._waiters: defaultdict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)
        self._connection: asyncpg.Connection | None = None

    async def start(self) -> None:
        self._connection = await asyncpg.connect(self.url)
        await self._connection.add_listener(CHANNEL, self._on_notify)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            conversation_id = uuid.UUID(str(payload))
        except ValueError:
            return
        for event in self._waiters.get(conversation_id, ()):
            event.set()

    def subscribe(self, conversation_id: uuid.UUID) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters[conversation_id].add(event)
        return event

    def unsubscribe(self, conversation_id: uuid.UUID, event: asyncio.Event) -> None:
        waiters = self._waiters.get(conversation_id)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[conversation_id]
