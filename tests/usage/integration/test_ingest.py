"""Every call is counted exactly once, through real Kafka and PostgreSQL: under redelivery, a
crash between the database commit and the offset commit, a replay of the whole topic, and two
consumer instances adding to the same provider/model/hour. Calls that cannot be counted go to
`dlq.usage` and the consumer carries on."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from roleplay_common.events import EventEnvelope, UsageRecorded
from roleplay_common.service import Runtime
from roleplay_common.settings import KafkaSettings
from roleplay_usage import handlers
from roleplay_usage.app import create_app
from roleplay_usage.domain.aggregates import totals_by_bucket
from roleplay_usage.ingest import Call, ingest
from tests.conftest import IsolatedEnv
from tests.support.kafka import producer, tap
from tests.support.services import running, running_all
from tests.usage.integration.conftest import (
    HOUR,
    aggregates_of,
    balances_of,
    call,
    calls_of,
    everything,
    lag,
    logs_of,
    new_provider,
    pairs,
    publish,
    settings_on,
    wait_caught_up,
    wait_for_logs,
)
from tests.usage.integration.crash_after_commit import CRASHED

ROOT = Path(__file__).resolve().parents[3]
INITIAL = Decimal(100)


async def test_an_event_delivered_again_counts_once(usage_service: Any) -> None:
    runtime, _ = usage_service
    kafka, provider = KafkaSettings(), new_provider()
    events = [call(provider=provider) for _ in range(20)]
    await publish(kafka, events)
    await wait_caught_up(kafka, "usage.ingest", UsageRecorded.topic)
    late = call(provider=provider)
    await publish(kafka, [*events[:7], late, *events[5:9]])  # e.g. a producer's retries
    await wait_caught_up(kafka, "usage.ingest", UsageRecorded.topic)
    assert await logs_of(runtime, provider) == 21
    assert await aggregates_of(runtime, provider) == totals_by_bucket(calls_of([*events, late]))


async def test_copies_inside_one_batch_count_once(usage_service: Any) -> None:
    runtime, _ = usage_service
    provider = new_provider()
    events = [call(provider=provider) for _ in range(5)]
    assert await ingest(runtime, pairs(events + events[:3]), initial_credits=INITIAL) == 5
    assert await aggregates_of(runtime, provider) == totals_by_bucket(calls_of(events))


async def test_a_crash_between_the_database_commit_and_the_offset_commit_counts_nothing_twice(
    test_env: IsolatedEnv,
) -> None:
    prefix, group = f"{test_env.topic_prefix}crash{uuid.uuid4().hex[:6]}.", "ingest-crash"
    settings = settings_on(prefix, group)
    provider = new_provider()
    events = [call(provider=provider, model=m) for m in ["a", "b"] * 20]
    await publish(settings.kafka, events)

    crashed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.usage.integration.crash_after_commit",
        cwd=ROOT,
        env={
            **os.environ,
            "ROLEPLAY_KAFKA_TOPIC_PREFIX": prefix,
            "USAGE_INGEST_CONSUMER": group,
            "USAGE_LOG_LEVEL": "WARNING",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(crashed.communicate(), timeout=120)
    assert crashed.returncode == CRASHED, output.decode()[-3000:]
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    counted_before_the_crash = await logs_of(runtime, provider)
    assert counted_before_the_crash > 0
    assert await lag(settings.kafka, f"usage.{group}", UsageRecorded.topic) == len(events)

    async with running(app):  # the restarted consumer reads the crashed batch again
        await wait_caught_up(settings.kafka, f"usage.{group}", UsageRecorded.topic)
        assert await logs_of(runtime, provider) == len(events)
        assert await aggregates_of(runtime, provider) == totals_by_bucket(calls_of(events))
        users = {c.user_id: c.cost for c in calls_of(events)}
        assert await balances_of(runtime, users) == {u: INITIAL - c for u, c in users.items()}


async def test_reading_the_whole_topic_again_from_offset_0_changes_nothing(
    usage_service: Any,
) -> None:
    runtime, _ = usage_service
    kafka = KafkaSettings()
    await publish(kafka, [call(provider=new_provider()) for _ in range(10)])  # when run alone
    await wait_caught_up(kafka, "usage.ingest", UsageRecorded.topic)
    before = await everything(runtime)

    replay = f"replay-{uuid.uuid4().hex[:6]}"  # a new group starts at offset 0
    async with running(create_app(settings_on(kafka.topic_prefix, replay))):
        await wait_caught_up(kafka, f"usage.{replay}", UsageRecorded.topic)
        assert await lag(kafka, "usage.ingest", UsageRecorded.topic) == 0
        assert await everything(runtime) == before


async def test_two_instances_on_one_provider_model_and_hour_lose_no_increment(
    test_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"{test_env.topic_prefix}pair{uuid.uuid4().hex[:6]}."
    settings = settings_on(prefix, "ingest-pair")
    counted_by: dict[int, int] = {}

    async def counting(runtime: Runtime, batch: Sequence[Call], *, initial_credits: Decimal) -> int:
        new = await ingest(runtime, batch, initial_credits=initial_credits)
        counted_by[id(runtime)] = counted_by.get(id(runtime), 0) + new
        return new

    monkeypatch.setattr(handlers, "ingest", counting)
    apps = [create_app(settings), create_app(settings)]
    instances = {id(app.state.runtime) for app in apps}
    provider = new_provider()
    sent: list[EventEnvelope] = []
    async with running_all(*apps):
        async with asyncio.timeout(90):  # until both instances have counted calls
            while len(sent) < 600 or not instances <= counted_by.keys():
                wave = [call(provider=provider) for _ in range(60)]  # one user each: all partitions
                await publish(settings.kafka, wave)
                sent += wave
                await asyncio.sleep(0.2)
        runtime = apps[0].state.runtime
        await wait_for_logs(runtime, provider, len(sent))
        await wait_caught_up(settings.kafka, "usage.ingest-pair", UsageRecorded.topic)
    assert sum(counted_by[i] for i in instances) == len(sent)
    hour = (await aggregates_of(runtime, provider))[("hour", HOUR, provider, "m")]
    assert (hour.requests, sum(hour.latency_hist)) == (len(sent), len(sent))
    assert await aggregates_of(runtime, provider) == totals_by_bucket(calls_of(sent))


async def test_concurrent_batches_on_one_bucket_lose_no_increment(usage_service: Any) -> None:
    runtime, _ = usage_service
    provider = new_provider()
    batches = [[call(provider=provider) for _ in range(25)] for _ in range(8)]
    overlapping = [b + batches[(i + 1) % len(batches)][:5] for i, b in enumerate(batches)]
    results = await asyncio.gather(
        *(ingest(runtime, pairs(b), initial_credits=INITIAL) for b in overlapping)
    )
    assert sum(results) == 200
    everyone = [e for b in batches for e in b]
    assert await aggregates_of(runtime, provider) == totals_by_bucket(calls_of(everyone))


async def test_calls_that_cannot_be_counted_are_dead_lettered_and_the_rest_counted(
    usage_service: Any,
) -> None:
    runtime, _ = usage_service
    provider = new_provider()
    not_a_call = EventEnvelope(
        type=UsageRecorded.event_type, producer="tests", key="k", correlation_id="c", data={}
    )
    negative = call(provider=provider, tokens_in=-5)
    unstorable = call(provider=f"{provider}\x00")  # PostgreSQL text cannot hold NUL
    good = [call(provider=provider) for _ in range(3)]
    async with tap("dlq.usage") as dlq, producer() as p:
        await p.send(UsageRecorded.topic, not_a_call)
        await p.send_bytes(UsageRecorded.topic, b"\x00garbage")
        for envelope in [good[0], negative, unstorable, *good[1:]]:
            await p.send(UsageRecorded.topic, envelope)
        await wait_for_logs(runtime, provider, 3)

        def reason(envelope: EventEnvelope) -> Any:
            return lambda seen: next(
                (e.data["error"] for e in seen if e.data["original"].get("id") == str(envelope.id)),
                None,
            )

        seen = await dlq.wait_for(lambda s: all(reason(e)(s) for e in [not_a_call, negative]))
        assert "invalid payload" in reason(not_a_call)(seen)
        assert "tokens_in out of range" in reason(negative)(seen)
        assert any("undecodable" in e.data["error"] for e in seen)
        seen = await dlq.wait_for(reason(unstorable), timeout=60)
        assert "handler failed on this event" in reason(unstorable)(seen)
    await wait_caught_up(KafkaSettings(), "usage.ingest", UsageRecorded.topic)
    assert await logs_of(runtime, provider) == 3
    assert await aggregates_of(runtime, provider) == totals_by_bucket(calls_of(good))
