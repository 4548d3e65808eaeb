"""`roleplay replay`: feed a topic's past events again to a consumer group's handlers.

The chosen records are republished to the same topic, in order per partition, with the same
key, bytes and event id, and a `replay-for-group` header: only that consumer group handles
them (every other group's decoder passes over them). Without a group every group gets them.
Handlers dedupe by event id, so a replay of events already handled changes nothing; it re-runs
what a handler skipped or failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiokafka.admin import AIOKafkaAdminClient

from roleplay_common.broker import REPLAY_GROUP_HEADER, Topics
from roleplay_common.events import EventEnvelope
from roleplay_common.ops.topic_reader import Record, kafka_producer, read_topic
from roleplay_common.settings import KafkaSettings


@dataclass(frozen=True)
class EventFilter:
    types: frozenset[str] = frozenset()
    conversation: str | None = None

    def matches(self, envelope: EventEnvelope) -> bool:
        if self.types and envelope.type not in self.types:
            return False
        if self.conversation is not None:
            in_data = str(envelope.data.get("conversation_id", ""))
            return self.conversation in (envelope.key, in_data)
        return True


ANY_EVENT = EventFilter()


@dataclass(frozen=True)
class ReplayResult:
    read: int
    replayed: int


async def consumer_groups(settings: KafkaSettings) -> set[str]:
    """The consumer groups the broker knows."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        return {str(group[0]) for group in await admin.list_consumer_groups()}
    finally:
        await admin.close()


def parse_position(value: str | None) -> int | datetime | None:
    """An offset (digits) or an ISO 8601 time; None stays None. `ValueError` otherwise."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def replay(
    settings: KafkaSettings,
    topic: str,
    *,
    start: int | datetime | None,
    end: int | datetime | None = None,
    group: str | None = None,
    only: EventFilter = ANY_EVENT,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Republish `topic`'s events from `start` to `end` that match `only`, for `group`."""
    name = Topics(settings.topic_prefix).name(topic)
    read = replayed = 0
    async with kafka_producer(settings) as producer:
        async for record in read_topic(settings, name, start=start, end=end, progress=progress):
            read += 1
            envelope = record.envelope()
            if envelope is None or not only.matches(envelope):
                continue
            await producer.send_and_wait(
                name,
                record.value,
                key=record.key.encode() if record.key is not None else None,
                headers=_replay_headers(record, group),
            )
            replayed += 1
    return ReplayResult(read=read, replayed=replayed)


def _replay_headers(record: Record, group: str | None) -> list[tuple[str, bytes]]:
    headers = {
        k: v for k, v in record.headers.items() if k not in (REPLAY_GROUP_HEADER, "replayed-from")
    }
    headers["replayed-from"] = f"{record.topic}/{record.partition}/{record.offset}"
    if group is not None:
        headers[REPLAY_GROUP_HEADER] = group
    return [(k, v.encode()) for k, v in headers.items()]
