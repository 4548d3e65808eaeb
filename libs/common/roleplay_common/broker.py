"""Kafka plumbing: the broker factory, topic names, publishing and the consumer wrapper.

Delivery rules every service gets from here:

* Producers use `acks=all` and the idempotent producer; linger is low so a streamed delta is
  not held back waiting for a batch.
* Consumers commit only after the handler finished (FastStream `AckPolicy.NACK_ON_ERROR`: an
  exception seeks back and the event is read again). Handlers must be idempotent (see
  `idempotency.py`).
* A transient error (database or broker away, a timeout: see `failures.py`) pauses the
  consumer on that event and retries it with a growing, capped delay until it succeeds: no
  dead letter, no event passed over. Any other error is tried `retries` times, then the
  envelope goes to the dead-letter topic `dlq.<service>` with why (payload and `dlq-*`
  headers: exception type and message, source topic, partition, offset, tries), and the
  consumer moves on. A dead-lettered chat turn or scene job also gets its failure fact
  (`dead_letter_outcomes.py`), so its client's stream ends.
* One subscriber per topic and consumer group dispatches by event type, so one partition's
  events are handled in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, Topic
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import REGISTRY, CollectorRegistry, Counter
from pydantic import ValidationError

from roleplay_common.dead_letter_outcomes import (
    FailureFact,
    dead_letter_headers,
    failure_event_id,
)
from roleplay_common.events import Event, EventDeadLettered, EventEnvelope, UnknownEventError
from roleplay_common.failures import call_with_retries, record_position
from roleplay_common.logging import bind_correlation, get_logger
from roleplay_common.settings import KafkaSettings
from roleplay_common.trace_context import batch_span, consumer_span, event_attributes, mark_failed

log = get_logger(__name__)

Handler = Callable[[Any, EventEnvelope], Awaitable[None]]

DEAD_LETTERED = Counter(
    "roleplay_events_dead_lettered_total",
    "Events a consumer gave up on and sent to the dead-letter topic.",
    ["service", "consumer", "type"],
)
HANDLED = Counter(
    "roleplay_events_handled_total",
    "Events a consumer handled, by outcome.",
    ["service", "consumer", "type", "outcome"],
)


@dataclass(frozen=True)
class Topics:
    """Topic names with the deployment's prefix applied."""

    prefix: str = ""

    def name(self, topic: str | type[Event]) -> str:
        base = topic if isinstance(topic, str) else topic.topic
        return f"{self.prefix}{base}"

    def dead_letter(self, service: str) -> str:
        return f"{self.prefix}dlq.{service}"


def make_broker(
    settings: KafkaSettings,
    *,
    client_id: str,
    registry: CollectorRegistry = REGISTRY,
    description: str | None = None,
) -> KafkaBroker:
    """A broker with safe producer defaults and Prometheus metrics."""
    from faststream.kafka.prometheus import KafkaPrometheusMiddleware

    return KafkaBroker(
        settings.bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.linger_ms,
        allow_auto_create_topics=False,
        middlewares=[KafkaPrometheusMiddleware(registry=registry, app_name=client_id)],
        description=description,
        graceful_timeout=15.0,
        logger=logging.getLogger("faststream"),
        # "Received" / "Processed" per message at DEBUG: services log per turn or job.
        log_level=logging.DEBUG,
    )


async def ensure_topics(settings: KafkaSettings, names: Sequence[str]) -> None:
    """Create the topics that do not exist yet, with explicit partition counts."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in dict.fromkeys(names) if n not in existing]
        if not missing:
            return
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [
                    NewTopic(
                        name=n,
                        num_partitions=settings.partitions,
                        replication_factor=settings.replication_factor,
                    )
                    for n in missing
                ]
            )
    finally:
        await admin.close()


async def publish(broker: KafkaBroker, topics: Topics, envelope: EventEnvelope) -> None:
    """Publish one envelope to its topic, keyed by its partition key; waits for the ack."""
    cls = envelope.payload().__class__
    await publish_raw(broker, topics.name(cls), envelope)


async def publish_raw(
    broker: KafkaBroker,
    topic: str,
    envelope: EventEnvelope,
    *,
    timeout: float = 5.0,
    headers: dict[str, str] | None = None,
) -> None:
    """Publish and wait for the broker's acknowledgement (acks=all), at most `timeout`
    seconds (`TimeoutError`): while the broker is away a request fails fast instead of
    hanging for the client's own request timeout. A record that times out may still be
    delivered later; consumers dedupe by event id, so a retry with the same id is safe."""
    async with asyncio.timeout(timeout):
        await broker.publish(
            envelope.model_dump_json().encode(),
            topic=topic,
            key=envelope.key.encode(),
            headers={**envelope_headers(envelope), **(headers or {})},
            correlation_id=envelope.correlation_id,
        )


def envelope_headers(envelope: EventEnvelope) -> dict[str, str]:
    headers = {"event-type": envelope.type, "event-version": str(envelope.version)}
    if envelope.traceparent:
        headers["traceparent"] = envelope.traceparent
    return headers


UNDECODABLE = "system.undecodable"


def decode_record(body: bytes, correlation_id: str | None = None) -> Any:
    """An envelope dict from a record's bytes; bytes that are not one become an envelope of
    type `system.undecodable`, so a poison record is dead-lettered instead of redelivered
    forever."""
    try:
        decoded = json.loads(body)
        EventEnvelope.model_validate(decoded)
    except ValueError as exc:
        raw = body.decode("utf-8", errors="replace")
        return EventEnvelope(
            type=UNDECODABLE,
            producer="unknown",
            key="undecodable",
            correlation_id=str(correlation_id or "undecodable"),
            data={"raw": raw[:10000], "error": str(exc)[:2000]},
        ).model_dump(mode="json")
    return decoded


SKIPPED = "system.skipped"
_SKIPPED_ENVELOPE = {
    "type": SKIPPED,
    "producer": "-",
    "key": "-",
    "correlation_id": "-",
    "data": {},
}


REPLAY_GROUP_HEADER = "replay-for-group"
"""A record republished by `roleplay replay` for one consumer group; other groups skip it."""


def _header(headers: Any, name: str) -> str | None:
    value = (headers or {}).get(name)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value if isinstance(value, str) else None


def tolerant_decoder_for(
    types: set[str], group_id: str | None = None
) -> Callable[[Any], Awaitable[Any]]:
    """A decoder that parses only records whose `event-type` header names one of `types`;
    any other record on the topic (a stream of deltas, say), or one replayed for another
    consumer group than `group_id`, is passed over unparsed."""

    async def decode(message: Any) -> Any:
        raw_headers = getattr(message, "headers", None) or {}
        event_type = _header(raw_headers, "event-type")
        if event_type is not None and event_type not in types:
            return _SKIPPED_ENVELOPE
        replay_for = _header(raw_headers, REPLAY_GROUP_HEADER)
        if replay_for is not None and replay_for != group_id:
            return _SKIPPED_ENVELOPE
        return decode_record(message.body, message.correlation_id)

    return decode


def batch_decoder_for(group_id: str) -> Callable[[Any], Awaitable[Any]]:
    """Decodes a batch; records replayed for another consumer group become skipped."""

    async def decode(message: Any) -> Any:
        headers = list(getattr(message, "batch_headers", None) or [])
        headers += [{}] * (len(message.body) - len(headers))
        return [
            _SKIPPED_ENVELOPE
            if (replay_for := _header(h, REPLAY_GROUP_HEADER)) is not None
            and replay_for != group_id
            else decode_record(body, message.correlation_id)
            for body, h in zip(message.body, headers, strict=False)
        ]

    return decode


async def dead_letter(
    broker: KafkaBroker,
    topics: Topics,
    *,
    service: str,
    consumer: str,
    source_topic: str,
    envelope: EventEnvelope,
    error: str,
    attempts: int,
    error_type: str = "",
    position: tuple[int, int] | None = None,
    failure_fact: FailureFact | None = None,
) -> None:
    """Send an envelope a consumer gave up on to `dlq.<service>`, with the reason (and
    `position`, the original record's partition and offset); then, for a command a client
    waits on, publish the failure fact the service's `failure_fact` rule gives."""
    DEAD_LETTERED.labels(service, consumer, envelope.type).inc()
    log.error("event dead-lettered", consumer=consumer, error=error, attempts=attempts)
    mark_failed(f"dead-lettered: {error[:200]}")
    record = EventDeadLettered(
        service=service,
        consumer=consumer,
        source_topic=source_topic,
        error=error[:4000],
        attempts=attempts,
        original=envelope.model_dump(mode="json"),
        error_type=error_type,
        source_partition=position[0] if position else None,
        source_offset=position[1] if position else None,
    )
    await publish_raw(
        broker,
        topics.dead_letter(service),
        EventEnvelope.wrap(record, producer=service, causation=envelope),
        headers=dead_letter_headers(record),
    )
    failure = failure_fact(envelope, error) if failure_fact is not None else None
    if failure is not None:
        await publish(
            broker,
            topics,
            EventEnvelope.wrap(
                failure, producer=service, causation=envelope, id=failure_event_id(envelope)
            ),
        )


BatchHandler = Callable[[list[tuple[Any, EventEnvelope]]], Awaitable[None]]


def attach_batch_consumer(
    broker: KafkaBroker,
    topics: Topics,
    event: type[Event],
    handler: BatchHandler,
    *,
    service: str,
    consumer: str,
    partitions: int,
    retries: int,
    max_records: int,
    timeout_ms: int,
    failure_fact: FailureFact | None = None,
) -> None:
    """A consumer that handles `event` in batches (one transaction per batch, by the handler).

    Records that are not valid `event`s are dead-lettered at once; a batch that keeps failing
    is handled one event at a time, so only the event that fails is dead-lettered (with its
    failure fact, when `event` is a command a client waits on).
    """
    topic_name = topics.name(event)

    async def reject(
        envelope: EventEnvelope,
        error: str,
        attempts: int,
        error_type: str,
        position: tuple[int, int] | None,
    ) -> None:
        await dead_letter(
            broker,
            topics,
            service=service,
            consumer=consumer,
            source_topic=topic_name,
            envelope=envelope,
            error=error,
            attempts=attempts,
            error_type=error_type,
            position=position,
            failure_fact=failure_fact,
        )

    async def run(items: list[tuple[Any, EventEnvelope]]) -> tuple[BaseException, int] | None:
        return await call_with_retries(
            lambda: handler(items), service=service, consumer=consumer, retries=retries
        )

    async def on_batch(envelopes: list[EventEnvelope], message: KafkaMessage) -> None:
        items: list[tuple[Any, EventEnvelope]] = []
        positions: dict[int, tuple[int, int] | None] = {}
        for index, envelope in enumerate(envelopes):
            position = record_position(message, index)
            if envelope.type == UNDECODABLE:
                error = f"undecodable record: {envelope.data['error']}"
                await reject(envelope, error, 0, "UndecodableRecord", position)
                continue
            if envelope.type != event.event_type:
                continue
            try:
                items.append((envelope.payload(), envelope))
            except (UnknownEventError, ValidationError) as exc:
                await reject(envelope, f"invalid payload: {exc}", 0, type(exc).__name__, position)
            else:
                positions[id(envelope)] = position
        if not items:
            return
        with batch_span(
            f"{consumer} process {event.event_type}",
            [envelope.traceparent for _, envelope in items],
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": topic_name,
                "messaging.consumer.group.name": f"{service}.{consumer}",
                "messaging.batch.message_count": len(items),
                "roleplay.event.type": event.event_type,
            },
        ):
            if await run(items) is None:
                return
        for item in items:
            failed = await run([item])
            if failed is not None:
                cause, tries = failed
                await reject(
                    item[1],
                    f"handler failed on this event: {type(cause).__name__}: {cause}",
                    tries,
                    type(cause).__name__,
                    positions.get(id(item[1])),
                )

    on_batch.__name__ = f"{consumer}_on_{event.topic.replace('.', '_')}"
    on_batch.__doc__ = (
        f"{service}/{consumer} handles {event.event_type} v{event.event_version} in batches"
    )
    broker.subscriber(
        Topic(topic_name, num_partitions=partitions),
        group_id=f"{service}.{consumer}",
        batch=True,
        max_records=max_records,
        batch_timeout_ms=timeout_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        decoder=batch_decoder_for(f"{service}.{consumer}"),
        title=f"{topic_name}:{service}.{consumer}",
        description=on_batch.__doc__,
    )(on_batch)


@dataclass
class EventRouter:
    """Collects a service's event handlers and wires them to Kafka subscribers.

    Declare handlers with `@router.handles(SomeEvent, consumer="name")`; a handler receives the
    typed payload and its envelope. Handlers of one consumer on one topic share a subscriber.
    """

    service: str
    _handlers: dict[tuple[str, str], dict[tuple[str, int], Handler]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    _failure_facts: dict[str, FailureFact] = field(default_factory=dict)

    def handles(self, event: type[Event], *, consumer: str) -> Callable[[Handler], Handler]:
        def decorate(fn: Handler) -> Handler:
            self._handlers[(event.topic, consumer)][(event.event_type, event.event_version)] = fn
            return fn

        return decorate

    def fails_with(self, command: type[Event], fact: FailureFact) -> None:
        """What this service publishes for the waiting client when it dead-letters `command`
        (`dead_letter_outcomes`)."""
        self._failure_facts[command.event_type] = fact

    def topics(self, topics: Topics) -> list[str]:
        return [topics.name(t) for t, _ in self._handlers] + [topics.dead_letter(self.service)]

    def attach(
        self,
        broker: KafkaBroker,
        topics: Topics,
        *,
        partitions: int,
        retries: int,
        group_prefix: str = "",
    ) -> None:
        """Register one subscriber per (topic, consumer) on the broker."""
        for (topic, consumer), handlers in self._handlers.items():
            self._attach_one(
                broker,
                topics,
                topic=topic,
                consumer=consumer,
                handlers=dict(handlers),
                partitions=partitions,
                retries=retries,
                group_id=f"{group_prefix}{self.service}.{consumer}",
            )

    def _attach_one(
        self,
        broker: KafkaBroker,
        topics: Topics,
        *,
        topic: str,
        consumer: str,
        handlers: dict[tuple[str, int], Handler],
        partitions: int,
        retries: int,
        group_id: str,
    ) -> None:
        service = self.service
        topic_name = topics.name(topic)

        async def on_message(envelope: EventEnvelope, message: KafkaMessage) -> None:
            if envelope.type == SKIPPED:
                return
            with (
                bind_correlation(
                    envelope.correlation_id, event_id=str(envelope.id), event_type=envelope.type
                ),
                consumer_span(
                    f"{consumer} process {envelope.type}",
                    traceparent=envelope.traceparent,
                    attributes=event_attributes(
                        topic=topic_name,
                        group=group_id,
                        event_id=str(envelope.id),
                        event_type=envelope.type,
                        correlation_id=envelope.correlation_id,
                    ),
                ),
            ):
                await _dispatch(envelope, record_position(message))

        async def _dispatch(envelope: EventEnvelope, position: tuple[int, int] | None) -> None:
            async def reject(error: str, attempts: int, error_type: str) -> None:
                await dead_letter(
                    broker,
                    topics,
                    service=service,
                    consumer=consumer,
                    source_topic=topic_name,
                    envelope=envelope,
                    error=error,
                    attempts=attempts,
                    error_type=error_type,
                    position=position,
                    failure_fact=self._failure_facts.get(envelope.type),
                )

            if envelope.type == SKIPPED:
                return
            if envelope.type == UNDECODABLE:
                error = f"undecodable record: {envelope.data['error']}"
                await reject(error, 0, "UndecodableRecord")
                return
            handler = handlers.get((envelope.type, envelope.version))
            try:
                payload = envelope.payload()
            except (UnknownEventError, ValidationError) as exc:
                if handler is None and isinstance(exc, UnknownEventError):
                    return
                await reject(f"invalid payload: {exc}", 0, type(exc).__name__)
                return
            handler = handlers.get((payload.event_type, payload.event_version))
            if handler is None:
                HANDLED.labels(service, consumer, envelope.type, "ignored").inc()
                return
            found = handler
            failed = await call_with_retries(
                lambda: found(payload, envelope),
                service=service,
                consumer=consumer,
                retries=retries,
            )
            if failed is None:
                HANDLED.labels(service, consumer, envelope.type, "ok").inc()
                return
            cause, tries = failed
            HANDLED.labels(service, consumer, envelope.type, "dead_lettered").inc()
            await reject(f"{type(cause).__name__}: {cause}", tries, type(cause).__name__)

        on_message.__name__ = f"{consumer}_on_{topic.replace('.', '_')}"
        on_message.__doc__ = f"{service}/{consumer} handles: " + ", ".join(
            f"{t} v{v}" for t, v in sorted(handlers)
        )
        broker.subscriber(
            Topic(topic_name, num_partitions=partitions),
            group_id=group_id,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=tolerant_decoder_for({t for t, _ in handlers}, group_id),
            auto_offset_reset="earliest",
            title=f"{topic_name}:{service}.{consumer}",
            description=on_message.__doc__,
        )(on_message)
