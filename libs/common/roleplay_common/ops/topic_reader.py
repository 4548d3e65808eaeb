"""Read a topic's records between offsets or times, without joining a consumer group."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from roleplay_common.events import EventEnvelope
from roleplay_common.settings import KafkaSettings


@dataclass(frozen=True)
class Record:
    """One Kafka record and, when it holds one, its envelope."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: str | None
    headers: dict[str, str]
    value: bytes

    def envelope(self) -> EventEnvelope | None:
        try:
            return EventEnvelope.model_validate_json(self.value)
        except ValueError:
            return None


@asynccontextmanager
async def kafka_producer(settings: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def partitions_of(settings: KafkaSettings, topic: str) -> list[int]:
    """The topic's partitions; none when it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        int(p["partition"]) for t in described if t["error_code"] == 0 for p in t["partitions"]
    )


async def list_topics(settings: KafkaSettings) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        return sorted(await admin.list_topics())
    finally:
        await admin.close()


def to_millis(at: datetime) -> int:
    return int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() * 1000)


async def read_topic(
    settings: KafkaSettings,
    topic: str,
    *,
    start: int | datetime | None = None,
    end: int | datetime | None = None,
    partitions: set[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AsyncIterator[Record]:
    """The records of `topic` (all partitions, or `partitions`) from `start` (an offset in each
    partition, or a time; default the beginning) up to the end as it was when reading began,
    or before `end` (exclusive offset, or time). Partition by partition, each in order.

    `progress(done, total)` is called as records are read."""
    found = await partitions_of(settings, topic)
    if not found:
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in found if partitions is None or p in partitions]
        if not tps:
            return
        consumer.assign(tps)
        firsts = await consumer.beginning_offsets(tps)
        lasts = await consumer.end_offsets(tps)
        begin = await _offsets(consumer, tps, start, firsts)
        begin = {tp: max(begin[tp], firsts[tp]) for tp in tps}
        stop = await _offsets(consumer, tps, end, lasts)
        stop = {tp: min(stop[tp], lasts[tp]) for tp in tps}
        total = sum(max(stop[tp] - begin[tp], 0) for tp in tps)
        done = 0
        for tp in tps:
            if begin[tp] >= stop[tp]:
                continue
            consumer.seek(tp, begin[tp])
            position = begin[tp]
            while position < stop[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000, max_records=500)
                for message in batch.get(tp, []):
                    position = message.offset + 1
                    if message.offset >= stop[tp]:
                        break
                    done += 1
                    if progress is not None:
                        progress(done, total)
                    yield Record(
                        topic=topic,
                        partition=message.partition,
                        offset=message.offset,
                        timestamp=datetime.fromtimestamp(message.timestamp / 1000, UTC),
                        key=message.key.decode(errors="replace") if message.key else None,
                        headers={k: v.decode(errors="replace") for k, v in message.headers},
                        value=message.value or b"",
                    )
                if not batch:
                    position = await consumer.position(tp)
    finally:
        await _stop(consumer)


async def _stop(consumer: AIOKafkaConsumer) -> None:
    """Stop a group-less consumer. aiokafka may surface the cancellation of its own
    background task from `stop()`; only a cancellation of ours propagates."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


async def _offsets(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    at: int | datetime | None,
    default: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    if at is None:
        return dict(default)
    if isinstance(at, int):
        return dict.fromkeys(tps, at)
    found = await consumer.offsets_for_times({tp: to_millis(at) for tp in tps})
    ends = await consumer.end_offsets(tps)
    return {tp: found[tp].offset if found.get(tp) else ends[tp] for tp in tps}
