"""Wakes this instance's conversation streams when the feed grows (PostgreSQL LISTEN).

The LISTEN connection is one long-lived connection outside the pool: when the database goes
away it is lost, so the notifier reconnects (with backoff) and then wakes every stream once,
since a notification sent while it was away is not replayed. A connection ended by the server
(a restart, `pg_terminate_backend`) reports itself at once; one that goes silent (a host or
network gone without closing it) is found by a ping every `WATCH_SECONDS`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import asyncpg

from roleplay_common.logging import get_logger
from roleplay_common.outages import outage_of
from roleplay_gateway.feed.store import CHANNEL

log = get_logger(__name__)

RECONNECT_MAX_SECONDS = 10.0
WATCH_SECONDS = 5.0
LISTENER_NAME = "roleplay-gateway-feed-listener"
"""The LISTEN connection's `application_name`, as `pg_stat_activity` shows it."""


class FeedNotifier:
    def __init__(self, database_url: str) -> None:
        self.url = database_url.replace("+asyncpg", "")
        self._waiters: defaultdict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)
        self._connection: asyncpg.Connection | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    @property
    def backend_pid(self) -> int | None:
        """The PostgreSQL backend that listens now (None while reconnecting)."""
        return self._connection.get_server_pid() if self.listening else None  # type: ignore[union-attr]

    async def start(self) -> None:
        await self._listen()
        self._watching = asyncio.create_task(self._watch(), name="feed-notifier-watch")

    async def stop(self) -> None:
        self._stopped = True
        for task in (self._reconnecting, self._watching):
            if task is not None:
                task.cancel()
        if self._connection is not None:
            await self._connection.close()

    async def _listen(self) -> None:
        connection = await asyncpg.connect(
            self.url, server_settings={"application_name": LISTENER_NAME}
        )
        await connection.add_listener(CHANNEL, self._on_notify)
        connection.add_termination_listener(self._on_lost)
        self._connection = connection

    async def _watch(self) -> None:
        while not self._stopped:
            await asyncio.sleep(WATCH_SECONDS)
            connection = self._connection
            if connection is None or self._reconnecting is not None:
                continue
            try:
                await asyncio.wait_for(connection.fetchval("select 1"), timeout=WATCH_SECONDS)
            except Exception as exc:
                log.warning("feed listener does not answer", error=type(exc).__name__)
                connection.terminate()
                self._on_lost(connection)

    def _on_lost(self, connection: object) -> None:
        if self._stopped or self._reconnecting is not None or connection is not self._connection:
            return  # stopping, already reconnecting, or a connection already replaced
        log.warning("feed notifications lost; reconnecting")
        self._reconnecting = asyncio.create_task(self._reconnect(), name="feed-notifier")

    async def _reconnect(self) -> None:
        delay = 0.2
        try:
            while not self._stopped:
                try:
                    await self._listen()
                except Exception as exc:
                    if outage_of(exc) is None:
                        raise
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                    continue
                log.info("feed notifications back")
                for waiters in list(self._waiters.values()):
                    for event in waiters:
                        event.set()
                return
        finally:
            self._reconnecting = None

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
