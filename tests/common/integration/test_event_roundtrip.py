"""Every service consumes from real Kafka, answers through its outbox, and dedupes redelivery."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from roleplay_common.db.plumbing import processed_events_table
from roleplay_common.events import EventEnvelope, Ping, Pong
from roleplay_common.service import Runtime
from tests.conftest import IsolatedEnv
from tests.support.kafka import producer, tap
from tests.support.services import running_all

SERVICES = ("gateway", "chat", "scenes", "library", "usage")


def _create_apps() -> list[FastAPI]:
    from roleplay_chat.app import create_app as chat
    from roleplay_gateway.app import create_app as gateway
    from roleplay_library.app import create_app as library
    from roleplay_scenes.app import create_app as scenes
    from roleplay_usage.app import create_app as usage

    return [gateway(), chat(), scenes(), library(), usage()]


@pytest.fixture(scope="module")
async def apps(test_env: IsolatedEnv) -> AsyncIterator[list[FastAPI]]:
    apps = _create_apps()
    async with running_all(*apps):
        yield apps


def _pongs(seen: list[EventEnvelope], ping: EventEnvelope) -> list[Pong]:
    return [
        p
        for e in seen
        if e.type == Pong.event_type
        and isinstance(p := e.payload(), Pong)
        and p.ping_event_id == str(ping.id)
    ]


async def test_every_service_answers_a_ping_through_kafka(apps: list[FastAPI]) -> None:
    ping = EventEnvelope.wrap(Ping(probe_id=uuid.uuid4().hex), producer="tests")
    async with tap(Pong.topic) as pongs, producer() as p:
        await p.send(Ping.topic, ping)
        seen = await pongs.wait_for(lambda s: len(_pongs(s, ping)) >= len(SERVICES))
    assert sorted(p.service for p in _pongs(seen, ping)) == sorted(SERVICES)
    pong = next(e for e in seen if e.type == Pong.event_type and e.causation_id == ping.id)
    assert pong.correlation_id == ping.correlation_id


async def test_a_redelivered_event_is_processed_once(apps: list[FastAPI]) -> None:
    probe = uuid.uuid4().hex
    first = EventEnvelope.wrap(Ping(probe_id=probe), producer="tests")
    marker = EventEnvelope.wrap(Ping(probe_id=probe), producer="tests")
    async with tap(Pong.topic) as pongs, producer() as p:
        for envelope in (first, first, first, marker):
            await p.send(Ping.topic, envelope)
        # Same key, same partition: once every service answered the marker, the copies of
        # `first` before it have been consumed too.
        seen = await pongs.wait_for(lambda s: len(_pongs(s, marker)) >= len(SERVICES))
    answers = _pongs(seen, first)
    assert sorted(p.service for p in answers) == sorted(SERVICES)

    runtime: Runtime = apps[1].state.runtime
    table = processed_events_table(runtime.schema)
    async with runtime.db.transaction() as session:
        count = await session.scalar(
            sa.select(sa.func.count()).select_from(table).where(table.c.event_id == first.id)
        )
    assert count == 1


async def test_a_malformed_event_is_dead_lettered_and_the_consumer_moves_on(
    apps: list[FastAPI],
) -> None:
    probe = uuid.uuid4().hex
    broken = EventEnvelope(
        type=Ping.event_type, producer="tests", key=probe, correlation_id="c", data={}
    )
    after = EventEnvelope.wrap(Ping(probe_id=probe), producer="tests")
    async with tap("dlq.chat") as dlq, tap(Pong.topic) as pongs, producer() as p:
        await p.send(Ping.topic, broken)
        await p.send_bytes(Ping.topic, b"not json at all", key=probe)
        await p.send(Ping.topic, after)
        await pongs.wait_for(lambda s: len(_pongs(s, after)) >= len(SERVICES))
        seen = await dlq.wait_for(
            lambda s: any(e.data["original"].get("id") == str(broken.id) for e in s)
        )
    dead = next(e for e in seen if e.data["original"].get("id") == str(broken.id))
    assert dead.data["service"] == "chat"
    assert "invalid payload" in dead.data["error"]
