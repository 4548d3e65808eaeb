"""Kafka subscribers of the usage service: `usage.recorded`, in batches."""

from roleplay_common.broker import attach_batch_consumer, dead_letter
from roleplay_common.events import EventEnvelope, UsageRecorded
from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime
from roleplay_usage.domain.calls import rejection
from roleplay_usage.ingest import Call, ingest
from roleplay_usage.settings import UsageSettings

log = get_logger(__name__)


def register(runtime: Runtime, settings: UsageSettings) -> None:
    consumer = settings.ingest_consumer

    async def on_usage(batch: list[Call]) -> None:
        """Count each call once; calls that cannot be counted go to the dead-letter topic."""
        counted: list[Call] = []
        refused: list[tuple[EventEnvelope, str]] = []
        for call, envelope in batch:
            why = rejection(call)
            if why is None:
                counted.append((call, envelope))
            else:
                refused.append((envelope, why))
        new = await ingest(runtime, counted, initial_credits=settings.initial_credits)
        for envelope, why in refused:
            await _dead_letter(envelope, why)
        log.info("usage ingested", received=len(batch), new=new, refused=len(refused))

    async def _dead_letter(envelope: EventEnvelope, why: str) -> None:
        await dead_letter(
            runtime.broker,
            runtime.topics,
            service="usage",
            consumer=consumer,
            source_topic=runtime.topics.name(UsageRecorded),
            envelope=envelope,
            error=f"call not counted: {why}",
            attempts=0,
        )

    attach_batch_consumer(
        runtime.broker,
        runtime.topics,
        UsageRecorded,
        on_usage,
        service="usage",
        consumer=consumer,
        partitions=settings.kafka.partitions,
        retries=settings.consumer_retries,
        max_records=settings.batch_max_records,
        timeout_ms=settings.batch_timeout_ms,
    )
