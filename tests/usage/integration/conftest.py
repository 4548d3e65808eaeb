"""Fixtures of the usage integration tests: the service running on the session's topics, calls
to feed it, and views of what it stored and which offsets its consumer group committed."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI

from roleplay_common.broker import ensure_topics
from roleplay_common.db.plumbing import outbox_table
from roleplay_common.events import EventEnvelope, UsageRecorded
from roleplay_common.service import Runtime
from roleplay_common.settings import KafkaSettings
from roleplay_usage import store
from roleplay_usage.app import create_app
from roleplay_usage.domain.aggregates import BucketKey, Totals
from roleplay_usage.ingest import Call
from roleplay_usage.settings import UsageSettings
from tests.conftest import IsolatedEnv
from tests.support.kafka import producer
from tests.support.servers import free_port, serve
from tests.support.services import as_a_service, running

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture(scope="package")
async def usage_app(test_env: IsolatedEnv) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The usage service on this session's topics and database (consumer group usage.ingest),
    called as the gateway calls it."""
    app = create_app()
    async with running(app, headers=as_a_service()) as client:
        yield app, client


@pytest.fixture(scope="package")
async def usage_service(
    usage_app: tuple[FastAPI, httpx.AsyncClient],
) -> tuple[Runtime, httpx.AsyncClient]:
    app, client = usage_app
    runtime: Runtime = app.state.runtime
    return runtime, client


@pytest.fixture(scope="package")
async def usage_url(usage_app: tuple[FastAPI, httpx.AsyncClient]) -> AsyncIterator[str]:
    """The same running service on a real port, for clients that speak HTTP over sockets."""
    async with serve(usage_app[0], free_port(), lifespan="off") as url:
        yield url


def call(
    user_id: uuid.UUID | None = None,
    *,
    provider: str = "p",
    model: str = "m",
    at: datetime = HOUR,
    **kw: Any,
) -> EventEnvelope:
    """A `usage.recorded` event as a provider adapter would publish it."""
    values: dict[str, Any] = {
        "user_id": user_id or uuid.uuid4(),
        "provider": provider,
        "model": model,
        "request_type": "chat",
        "tokens_in": 100,
        "tokens_out": 20,
        "cost_in": Decimal("0.5"),
        "cost_out": Decimal("0.25"),
        "status": "success",
        "response_status": 200,
        "latency_ms": random.choice([10, 40, 300, 3000]),
        "occurred_at": at,
        **kw,
    }
    return EventEnvelope.wrap(UsageRecorded(**values), producer="tests")


def pairs(envelopes: Iterable[EventEnvelope]) -> list[Call]:
    out: list[Call] = []
    for envelope in envelopes:
        payload = envelope.payload()
        assert isinstance(payload, UsageRecorded)
        out.append((payload, envelope))
    return out


def calls_of(envelopes: Iterable[EventEnvelope]) -> list[UsageRecorded]:
    return [c for c, _ in pairs(envelopes)]


def new_provider() -> str:
    return f"p{uuid.uuid4().hex[:8]}"


async def logs_of(runtime: Runtime, provider: str) -> int:
    async with runtime.db.transaction() as session:
        count = await session.scalar(
            sa.select(sa.func.count())
            .select_from(store.usage_logs)
            .where(store.usage_logs.c.provider == provider)
        )
    return count or 0


async def aggregates_of(runtime: Runtime, provider: str) -> dict[BucketKey, Totals]:
    """Every hour and day row of one provider, as totals."""
    end = datetime.now(UTC) + timedelta(days=365)
    start = datetime(2000, 1, 1, tzinfo=UTC)
    async with runtime.db.transaction() as session:
        return {
            key: totals
            for kind in ("hour", "day")
            for key, totals in await store.bucket_rows(session, kind, start, end)
            if key[2] == provider
        }


async def balances_of(runtime: Runtime, users: Iterable[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    async with runtime.db.transaction() as session:
        rows = await session.execute(
            sa.select(store.balances.c.user_id, store.balances.c.balance).where(
                store.balances.c.user_id.in_(list(users))
            )
        )
        return {row.user_id: row.balance for row in rows}


async def everything(runtime: Runtime) -> dict[str, Any]:
    """All the service's counts: logs, aggregate rows, balances and queued balance changes."""
    outbox = outbox_table(store.SCHEMA)
    async with runtime.db.transaction() as session:
        logs = await session.scalar(sa.select(sa.func.count()).select_from(store.usage_logs))
        aggregates = (
            await session.execute(
                sa.select(store.usage_aggregates).order_by(
                    *store.usage_aggregates.primary_key.columns
                )
            )
        ).all()
        balances = (
            await session.execute(sa.select(store.balances).order_by(store.balances.c.user_id))
        ).all()
        changes = await session.scalar(sa.select(sa.func.count()).select_from(outbox))
    return {
        "logs": logs,
        "aggregates": [tuple(r) for r in aggregates],
        "balances": [tuple(r) for r in balances],
        "balance_changes": changes,
    }


async def wait_for_logs(runtime: Runtime, provider: str, count: int, timeout: float = 90) -> None:
    async with asyncio.timeout(timeout):
        while await logs_of(runtime, provider) < count:
            await asyncio.sleep(0.1)


async def publish(kafka: KafkaSettings, envelopes: Iterable[EventEnvelope]) -> None:
    """Publish `usage.recorded` events keyed by user, as the chat and scenes services do, and
    wait for every acknowledgement."""
    async with producer(kafka) as p:
        name = p.topics.name(UsageRecorded.topic)
        await ensure_topics(kafka, [name])
        sent = [
            await p.p.send(name, e.model_dump_json().encode(), key=e.key.encode())
            for e in envelopes
        ]
        await asyncio.gather(*sent)


def settings_on(prefix: str, consumer: str = "ingest") -> UsageSettings:
    """Usage settings reading topics under `prefix`, in consumer group `usage.<consumer>`."""
    return UsageSettings(kafka=KafkaSettings(topic_prefix=prefix), ingest_consumer=consumer)


async def lag(kafka: KafkaSettings, group: str, topic: str) -> int:
    """How many records of `topic` the group has not committed yet."""
    name = f"{kafka.topic_prefix}{topic}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    await consumer.start()
    try:
        committed = {
            tp.partition: meta.offset
            for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
            if tp.topic == name
        }
        (described,) = await admin.describe_topics([name])
        partitions = [TopicPartition(name, p["partition"]) for p in described["partitions"]]
        assert partitions, f"topic {name} has no partitions"
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
        await admin.close()
    return sum(end - max(committed.get(tp.partition, 0), 0) for tp, end in ends.items())


async def wait_caught_up(kafka: KafkaSettings, group: str, topic: str, timeout: float = 90) -> None:
    """Until the group has committed every record of the topic."""
    async with asyncio.timeout(timeout):
        while await lag(kafka, group, topic):
            await asyncio.sleep(0.25)
