"""The trace context of events, over real PostgreSQL and Kafka: an outbox row keeps the
context of the transaction that wrote it (not of the relay that publishes it later), the
record's Kafka headers carry it, and the consumer's span is its child. With tracing off an
incoming `traceparent` still passes through a handler unchanged."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaConsumer
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from roleplay_common.broker import EventRouter, Topics, ensure_topics, make_broker, publish_raw
from roleplay_common.db import Database, OutboxRelay, add_to_outbox
from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.events import EventEnvelope, Ping
from roleplay_common.settings import DatabaseSettings, KafkaSettings
from roleplay_common.trace_context import current_traceparent
from roleplay_common.tracing import traced_by, tracer
from roleplay_usage.app import MIGRATIONS
from tests.common.integration.test_consumer_failures import consuming
from tests.conftest import IsolatedEnv

SCHEMA = "usage"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
async def db(fresh_database: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(upgrade_to_head, fresh_database, MIGRATIONS)
    database = Database(
        DatabaseSettings(url=fresh_database), schema=SCHEMA, application_name="tests"
    )
    yield database
    await database.dispose()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with traced_by(provider):
        yield exporter
    provider.shutdown()


def recording_router(
    seen: dict[str, tuple[EventEnvelope, str | None, EventEnvelope]],
) -> EventRouter:
    """Keeps, per probe: the envelope, the trace context inside the handler, and an envelope
    the handler made (as a handler publishing a fact would)."""
    router = EventRouter(f"tests-tracing-{uuid.uuid4().hex[:6]}")

    @router.handles(Ping, consumer="traced")
    async def record(ping: Ping, envelope: EventEnvelope) -> None:
        made = EventEnvelope.wrap(Ping(probe_id="fact"), producer="tests", causation=envelope)
        seen[ping.probe_id] = (envelope, current_traceparent(), made)

    return router


async def headers_of(topic: str, key: str) -> dict[str, bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=KafkaSettings().bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            async for record in consumer:
                if record.key == key.encode():
                    return dict(record.headers)
    finally:
        await consumer.stop()
    raise AssertionError("record not found")


def ours(span: ReadableSpan, router: EventRouter, envelope: EventEnvelope) -> bool:
    """The span of this test's consumer for `envelope` (other systems' services running in
    this process answer the same pings)."""
    attributes = span.attributes or {}
    return attributes.get("messaging.message.id") == str(envelope.id) and str(
        attributes.get("messaging.consumer.group.name", "")
    ).startswith(f"{router.service}.")


async def until(check: object) -> None:
    assert callable(check)
    async with asyncio.timeout(30):
        while not check():
            await asyncio.sleep(0.05)


async def test_an_outbox_event_continues_the_trace_it_was_written_in(
    db: Database, test_env: IsolatedEnv, spans: InMemorySpanExporter
) -> None:
    topics = Topics(test_env.topic_prefix)
    probe = uuid.uuid4().hex
    with tracer("tests").start_as_current_span("a request that writes") as writer:
        envelope = EventEnvelope.wrap(Ping(probe_id=probe), producer="tests")
        async with db.transaction() as session:
            await add_to_outbox(session, SCHEMA, topics, envelope)
    written = writer.get_span_context()
    ids = f"{written.trace_id:032x}-{written.span_id:016x}"
    assert envelope.traceparent == f"00-{ids}-{written.trace_flags:02x}"

    seen: dict[str, tuple[EventEnvelope, str | None, EventEnvelope]] = {}
    router = recording_router(seen)
    broker = make_broker(KafkaSettings(), client_id="tests-relay", registry=CollectorRegistry())
    await broker.start()
    try:
        async with consuming(router):
            # The relay publishes later, outside any span.
            assert await OutboxRelay(db, broker).relay_once() >= 1
            await until(lambda: probe in seen)
    finally:
        await broker.stop()

    received, inside, made = seen[probe]
    assert received.traceparent == envelope.traceparent
    headers = await headers_of(topics.name(Ping), probe)
    assert headers["traceparent"].decode() == envelope.traceparent
    consumed = next(
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.CONSUMER and ours(s, router, envelope)
    )
    assert consumed.context is not None and consumed.parent is not None
    assert consumed.context.trace_id == written.trace_id
    assert consumed.parent.span_id == written.span_id
    # What the handler makes is a child of the consumer span, in the same trace.
    assert inside is not None and made.traceparent == inside
    assert f"-{consumed.context.span_id:016x}-" in inside


async def test_with_tracing_off_a_traceparent_passes_through_unchanged(
    test_env: IsolatedEnv,
) -> None:
    assert EventEnvelope.wrap(Ping(probe_id="x"), producer="tests").traceparent is None
    probe = uuid.uuid4().hex
    seen: dict[str, tuple[EventEnvelope, str | None, EventEnvelope]] = {}
    broker = make_broker(KafkaSettings(), client_id="tests-off", registry=CollectorRegistry())
    topics = Topics(test_env.topic_prefix)
    await ensure_topics(KafkaSettings(), [topics.name(Ping)])
    await broker.start()
    try:
        async with consuming(recording_router(seen)):
            envelope = EventEnvelope.wrap(
                Ping(probe_id=probe), producer="tests", traceparent=TRACEPARENT
            )
            await publish_raw(broker, topics.name(Ping), envelope)
            await until(lambda: probe in seen)
    finally:
        await broker.stop()
    _, inside, made = seen[probe]
    assert inside == TRACEPARENT and made.traceparent == TRACEPARENT


async def test_a_dead_lettered_event_fails_its_span_and_its_dead_letter_stays_in_the_trace(
    test_env: IsolatedEnv, spans: InMemorySpanExporter
) -> None:
    from opentelemetry.trace import StatusCode

    from tests.support.kafka import tap

    router = EventRouter(f"tests-tracing-{uuid.uuid4().hex[:6]}")
    probe = uuid.uuid4().hex

    @router.handles(Ping, consumer="poisoned")
    async def fail(ping: Ping, envelope: EventEnvelope) -> None:
        if ping.probe_id == probe:
            raise ValueError("this event fails by itself")

    topics = Topics(test_env.topic_prefix)
    broker = make_broker(KafkaSettings(), client_id="tests-dlq", registry=CollectorRegistry())
    await broker.start()
    try:
        async with (
            consuming(router),
            tap(topics.dead_letter(router.service).removeprefix(topics.prefix)) as dead,
        ):
            envelope = EventEnvelope.wrap(
                Ping(probe_id=probe), producer="tests", traceparent=TRACEPARENT
            )
            await publish_raw(broker, topics.name(Ping), envelope)
            seen = await dead.wait_for(lambda s: any(e.causation_id == envelope.id for e in s))
    finally:
        await broker.stop()
    consumed = next(s for s in spans.get_finished_spans() if ours(s, router, envelope))
    assert consumed.status.status_code == StatusCode.ERROR
    assert consumed.context is not None and consumed.context.trace_id == int(TRACEPARENT[3:35], 16)
    letter = next(e for e in seen if e.causation_id == envelope.id)
    assert letter.traceparent is not None
    assert f"-{consumed.context.span_id:016x}-" in letter.traceparent
