"""What a turn's stream already holds in Kafka: the last `seq` any instance published for it.

An instance that takes over a turn must number its records after every record the previous
instance got into the log, or readers would drop them as duplicates. The producer that wrote
them is gone, so nothing more can arrive; the turn's records all sit in one partition (keyed
by conversation), after the turn was created. This reads that partition from then to its end.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, TopicPartition

from roleplay_common.settings import KafkaSettings

# Clocks of the broker and of this host may differ a little.
CLOCK_SLACK = timedelta(seconds=5)
READ_SECONDS = 30.0
"""A takeover that cannot read the partition in this time fails, and is tried again."""


async def last_published_seq(
    kafka: KafkaSettings,
    partition: TopicPartition,
    *,
    turn_id: uuid.UUID,
    since: datetime,
) -> int:
    """The highest `seq` of the turn's records in `partition` (0 when there are none)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        client_id="chat-turn-takeover",
    )
    await consumer.start()
    try:
        consumer.assign([partition])
        end = (await consumer.end_offsets([partition]))[partition]
        found = await consumer.offsets_for_times(
            {partition: int((since - CLOCK_SLACK).timestamp() * 1000)}
        )
        start = found[partition]
        consumer.seek(partition, start.offset if start is not None else end)
        wanted, last = str(turn_id), 0
        async with asyncio.timeout(READ_SECONDS):
            while await consumer.position(partition) < end:
                batch = await consumer.getmany(partition, timeout_ms=1000, max_records=1000)
                for record in batch.get(partition, []):
                    if record.offset >= end:
                        break
                    last = max(last, _seq_of(record.value, wanted))
        return last
    finally:
        await consumer.stop()


def _seq_of(raw: bytes | None, turn_id: str) -> int:
    try:
        data = json.loads(raw or b"")["data"]
        if data["turn_id"] == turn_id and isinstance(data["seq"], int):
            return int(data["seq"])
    except (ValueError, KeyError, TypeError):
        pass
    return 0
