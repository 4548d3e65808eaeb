"""`roleplay ping`: one `system.ping` through Kafka, one `system.pong` back from each service."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from roleplay_common.broker import Topics, ensure_topics
from roleplay_common.events import EventEnvelope, Ping, Pong
from roleplay_common.settings import KafkaSettings


async def ping_services(timeout: float = 30.0) -> dict[str, float]:
    settings = KafkaSettings()
    topics = Topics(settings.topic_prefix)
    await ensure_topics(settings, [topics.name(Ping), topics.name(Pong)])
    consumer = AIOKafkaConsumer(
        topics.name(Pong), bootstrap_servers=settings.bootstrap_servers, auto_offset_reset="latest"
    )
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    answered: dict[str, float] = {}
    try:
        await consumer.seek_to_end()
        ping = EventEnvelope.wrap(Ping(probe_id=uuid.uuid4().hex), producer="roleplay-cli")
        started = time.monotonic()
        await producer.send_and_wait(
            topics.name(Ping), ping.model_dump_json().encode(), key=ping.key.encode()
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                async for record in consumer:
                    assert record.value is not None
                    pong = EventEnvelope.model_validate_json(record.value)
                    if pong.causation_id == ping.id:
                        answered[pong.data["service"]] = (time.monotonic() - started) * 1000
                        if len(answered) == 5:
                            break
    finally:
        await producer.stop()
        await consumer.stop()
    return answered
