"""Kafka helpers for tests: publish envelopes and await the ones a service emits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from roleplay_common.broker import Topics, ensure_topics
from roleplay_common.events import EventEnvelope
from roleplay_common.settings import KafkaSettings


class EventTap:
    """Reads a topic from its beginning in the background and keeps every envelope."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.seen: list[EventEnvelope] = []
        self.raw: list[bytes] = []
        self._changed = asyncio.Condition()

    async def run(self) -> None:
        async for record in self.consumer:
            assert record.value is not None
            self.raw.append(record.value)
            async with self._changed:
                with contextlib.suppress(ValueError):
                    self.seen.append(EventEnvelope.model_validate_json(record.value))
                self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[list[EventEnvelope]], bool], timeout: float = 30.0
    ) -> list[EventEnvelope]:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self.seen))
        return self.seen


@asynccontextmanager
async def tap(topic: str, settings: KafkaSettings | None = None) -> AsyncIterator[EventTap]:
    settings = settings or KafkaSettings()
    name = Topics(settings.topic_prefix).name(topic)
    await ensure_topics(settings, [name])
    consumer = AIOKafkaConsumer(
        name, bootstrap_servers=settings.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    reader = EventTap(consumer)
    task = asyncio.create_task(reader.run())
    try:
        yield reader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()


@asynccontextmanager
async def producer(settings: KafkaSettings | None = None) -> AsyncIterator[RawProducer]:
    settings = settings or KafkaSettings()
    p = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await p.start()
    try:
        yield RawProducer(p, Topics(settings.topic_prefix), settings)
    finally:
        await p.stop()


class RawProducer:
    def __init__(self, p: AIOKafkaProducer, topics: Topics, settings: KafkaSettings) -> None:
        self.p = p
        self.topics = topics
        self.settings = settings

    async def send(self, topic: str, envelope: EventEnvelope) -> None:
        await self.send_bytes(topic, envelope.model_dump_json().encode(), envelope.key)

    async def send_bytes(self, topic: str, value: bytes, key: str = "k") -> None:
        name = self.topics.name(topic)
        await ensure_topics(self.settings, [name])
        await self.p.send_and_wait(name, value, key=key.encode())


async def delete_topics(bootstrap_servers: str, prefix: str) -> int:
    """Delete every topic named with `prefix` (a finished test session's); returns how many.

    Each session makes its own topics: left behind, they pile up in a long-lived broker until
    it runs out of file handles."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        names = [n for n in await admin.list_topics() if n.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
        return len(names)
    finally:
        await admin.close()
