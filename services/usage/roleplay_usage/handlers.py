"""Kafka subscribers of the usage service: `usage.recorded`, in batches."""

from typing import Any

from roleplay_common.broker import attach_batch_consumer
from roleplay_common.events import EventEnvelope, UsageRecorded
from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime
from roleplay_usage.ingest import ingest
from roleplay_usage.settings import UsageSettings

log = get_logger(__name__)


def register(runtime: Runtime, settings: UsageSettings) -> None:
    async def on_usage(batch: list[tuple[Any, EventEnvelope]]) -> None:
        """Log each call once, add the new ones to the aggregates, debit balances."""
        new = await ingest(runtime, batch, initial_credits=settings.initial_credits)
        log.info("usage ingested", received=len(batch), new=new)

    attach_batch_consumer(
        runtime.broker,
        runtime.topics,
        UsageRecorded,
        on_usage,
        service="usage",
        consumer="ingest",
        partitions=settings.kafka.partitions,
        retries=settings.consumer_retries,
        max_records=settings.batch_max_records,
        timeout_ms=settings.batch_timeout_ms,
    )
