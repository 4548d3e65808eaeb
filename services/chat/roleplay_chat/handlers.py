"""Kafka subscribers of the chat service."""

import asyncio
import uuid
from collections import defaultdict

from roleplay_chat.dead_letters import turn_failed
from roleplay_chat.scene_links import link_scene, set_last_scene_image
from roleplay_chat.turns import TurnRunner
from roleplay_common.broker import EventRouter, attach_batch_consumer
from roleplay_common.events import (
    EventEnvelope,
    LibraryAssetSaved,
    RequestChatTurn,
    SceneJobCompleted,
)
from roleplay_common.logging import bind_correlation, get_logger
from roleplay_common.service import Runtime
from roleplay_common.trace_context import consumer_span, event_attributes

log = get_logger(__name__)

TURN_BATCH = 500
TURN_POLL_MS = 5
"""How long one poll for turn commands waits. FastStream's batch subscriber sleeps as long
again after an empty poll, so a command arriving while the service is idle waits up to twice
this before it is read: at 50 ms that was a third of the added time to first word."""


def register(router: EventRouter, turns: TurnRunner) -> None:
    """Declare this service's event handlers on `router`."""

    @router.handles(SceneJobCompleted, consumer="scenes")
    async def on_scene_completed(fact: SceneJobCompleted, envelope: EventEnvelope) -> None:
        await link_scene(turns.runtime, fact, envelope)

    @router.handles(LibraryAssetSaved, consumer="library")
    async def on_asset_saved(fact: LibraryAssetSaved, envelope: EventEnvelope) -> None:
        await set_last_scene_image(turns.runtime, fact, envelope)


def attach_turn_commands(runtime: Runtime, turns: TurnRunner) -> None:
    """`chat.turn.requested`, read in batches: the commands of different conversations are
    accepted concurrently (each in its own transaction), those of one conversation in order,
    and each accepted turn streams in the background at once. At most
    `accept_concurrency` are accepted at a time, in arrival order: a crowd's first turns
    stream within milliseconds, instead of all of them interleaved and done together at the
    end.
    """

    gate = asyncio.Semaphore(turns.settings.accept_concurrency)

    async def accept_in_order(items: list[tuple[RequestChatTurn, EventEnvelope]]) -> None:
        for command, envelope in items:
            async with gate:
                await accept_one(command, envelope)

    async def accept_one(command: RequestChatTurn, envelope: EventEnvelope) -> None:
        # Each command's span continues its own trace (the turn's run inherits it).
        with (
            bind_correlation(envelope.correlation_id, turn_id=str(command.turn_id)),
            consumer_span(
                "chat.turn.accept",
                traceparent=envelope.traceparent,
                attributes={
                    **event_attributes(
                        topic=runtime.topics.name(RequestChatTurn),
                        group="chat.turns",
                        event_id=str(envelope.id),
                        event_type=envelope.type,
                        correlation_id=envelope.correlation_id,
                    ),
                    "roleplay.turn_id": str(command.turn_id),
                },
            ),
        ):
            prepared = await turns.accept(command, envelope)
            log.info("turn requested", kind=command.kind, accepted=prepared is not None)
            if prepared is not None:
                turns.schedule(command, envelope, prepared)

    async def on_turn_commands(batch: list[tuple[RequestChatTurn, EventEnvelope]]) -> None:
        by_conversation: defaultdict[uuid.UUID, list[tuple[RequestChatTurn, EventEnvelope]]]
        by_conversation = defaultdict(list)
        for command, envelope in batch:
            by_conversation[command.conversation_id].append((command, envelope))
        results = await asyncio.gather(
            *(accept_in_order(items) for items in by_conversation.values()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    attach_batch_consumer(
        runtime.broker,
        runtime.topics,
        RequestChatTurn,
        on_turn_commands,
        service="chat",
        consumer="turns",
        partitions=runtime.settings.kafka.partitions,
        retries=runtime.settings.consumer_retries,
        max_records=TURN_BATCH,
        timeout_ms=TURN_POLL_MS,
        failure_fact=turn_failed,
    )
