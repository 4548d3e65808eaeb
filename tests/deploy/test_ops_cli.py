"""`roleplay dlq`, `roleplay replay` and `roleplay events` against a running service (the
library) on real Kafka and PostgreSQL: a dead letter is found, read and redriven once; a
replay re-feeds the consumer group's handler and changes nothing, twice; an event is shown
with what it caused."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from typer.testing import CliRunner, Result

from roleplay_common.broker import HANDLED
from roleplay_common.db.plumbing import processed_events_table
from roleplay_common.events import EventEnvelope, Ping, Pong
from roleplay_common.ops.event_log import Located, tail
from roleplay_common.ops.replay import EventFilter
from roleplay_common.service import Runtime
from roleplay_common.settings import KafkaSettings
from roleplay_local.cli import app as cli
from tests.conftest import IsolatedEnv
from tests.support.kafka import producer, tap
from tests.support.services import running


@pytest.fixture(scope="module")
async def library(test_env: IsolatedEnv) -> AsyncIterator[FastAPI]:
    from roleplay_library.app import create_app

    app = create_app()
    async with running(app):
        yield app


async def roleplay(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


def handled_pings() -> float:
    return HANDLED.labels("library", "diagnostics", Ping.event_type, "ok")._value.get()


async def test_replay_refeeds_the_handler_and_changes_nothing(library: FastAPI) -> None:
    probe = uuid.uuid4().hex
    first = EventEnvelope.wrap(Ping(probe_id=probe), producer="tests")
    async with tap(Pong.topic) as pongs, producer() as p:
        await p.send(Ping.topic, first)
        await pongs.wait_for(lambda s: any(e.causation_id == first.id for e in s))
        for round_ in (1, 2):
            before = handled_pings()
            result = await roleplay(
                "replay",
                "system.ping",
                "--from",
                "0",
                "--group",
                "library.diagnostics",
                "--type",
                Ping.event_type,
            )
            assert result.exit_code == 0, result.output
            assert "replayed" in result.output
            # Same key, same partition: once the marker is answered, the replayed copy of
            # `first` before it has been handled.
            marker = EventEnvelope.wrap(Ping(probe_id=probe), producer="tests")
            await p.send(Ping.topic, marker)
            seen = await pongs.wait_for(lambda s, m=marker: any(e.causation_id == m.id for e in s))
            assert handled_pings() >= before + 2, f"round {round_}: the handler was re-fed"
            assert [e.causation_id for e in seen].count(first.id) == 1, "no second answer"

    unknown = await roleplay("replay", "system.ping", "--from", "0", "--group", "no.such")
    assert unknown.exit_code == 2
    assert "no consumer group" in unknown.output

    runtime: Runtime = library.state.runtime
    table = processed_events_table(runtime.schema)
    async with runtime.db.transaction() as session:
        count = await session.scalar(
            sa.select(sa.func.count()).select_from(table).where(table.c.event_id == first.id)
        )
    assert count == 1


async def test_a_dead_letter_is_listed_shown_and_redriven_once(library: FastAPI) -> None:
    broken = EventEnvelope(
        type=Ping.event_type, producer="tests", key="broken", correlation_id="c", data={}
    )
    async with producer() as p:
        await p.send(Ping.topic, broken)

    async def listed() -> list[dict[str, object]]:
        result = await roleplay("dlq", "list", "--service", "library", "--json")
        assert result.exit_code == 0, result.output
        start = result.output.index("[")
        return [d for d in json.loads(result.output[start:]) if d["event_id"] == str(broken.id)]

    async with asyncio.timeout(30):
        while not (found := await listed()):
            await asyncio.sleep(0.5)
    [letter] = found
    assert letter["error_type"] == "ValidationError"
    assert letter["redriven"] is False

    shown = await roleplay("dlq", "show", "--id", str(letter["id"]))
    assert shown.exit_code == 0, shown.output
    assert '"dlq-error-type": "ValidationError"' in shown.output

    first = await roleplay("dlq", "redrive", "--id", str(letter["id"]))
    assert first.exit_code == 0, first.output
    again = await roleplay("dlq", "redrive", "--id", str(letter["id"]))
    assert again.exit_code == 1
    assert "already redriven" in again.output
    # The redriven copy is invalid too: it is dead-lettered anew, as a new dead letter.
    [after] = [d for d in await listed() if d["id"] == letter["id"]]
    assert after["redriven"] is True

    every = await roleplay("dlq", "redrive", "--all", "--service", "library")
    assert every.exit_code == 0, every.output
    assert f"{letter['id']}:" not in every.output, "--all leaves out what was redriven"
    neither = await roleplay("dlq", "redrive")
    assert neither.exit_code == 2


async def test_events_show_finds_an_event_and_what_it_caused(library: FastAPI) -> None:
    ping = EventEnvelope.wrap(Ping(probe_id=uuid.uuid4().hex), producer="tests")
    async with tap(Pong.topic) as pongs, producer() as p:
        await p.send(Ping.topic, ping)
        await pongs.wait_for(lambda s: any(e.causation_id == ping.id for e in s))
    result = await roleplay("events", "show", str(ping.id))
    assert result.exit_code == 0, result.output
    assert f'"id": "{ping.id}"' in result.output
    caused = result.output.split("caused:", 1)[1]
    assert Pong.event_type in caused
    missing = await roleplay("events", "show", str(uuid.uuid4()))
    assert missing.exit_code == 1


def test_the_commands_have_help() -> None:
    for args in (["dlq", "--help"], ["replay", "--help"], ["events", "--help"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output


async def test_events_tail_follows_what_is_published(library: FastAPI) -> None:
    probe = uuid.uuid4().hex
    seen: list[Located] = []

    async def follow() -> None:
        only = EventFilter(types=frozenset({Ping.event_type}), conversation=probe)
        async for located in tail(KafkaSettings(), ["system.ping"], only=only):
            seen.append(located)

    task = asyncio.create_task(follow())
    try:
        async with producer() as p, asyncio.timeout(30):
            # Tailing starts at the end of the log: publish until the follower is in place.
            while not seen:
                await p.send(Ping.topic, EventEnvelope.wrap(Ping(probe_id=probe), producer="t"))
                await asyncio.sleep(0.5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert seen[0].envelope.key == probe
    assert Ping.event_type in seen[0].line()
