"""A turn outlives the instance that ran it: when that instance stops mid-reply, another takes
the turn over, the stream goes on with `turn.restarted` and the new reply, and the turn is
stored and ended once. Only a turn restarted too often ends with `turn_interrupted`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from roleplay_chat.app import MIGRATIONS
from roleplay_chat.providers.openai_compatible import ProviderSession
from roleplay_chat.reply_stream import TurnStreamProducer
from roleplay_chat.settings import ChatSettings
from roleplay_chat.store import SCHEMA, Conversation, Message, Turn
from roleplay_chat.takeover import MAX_RESTARTS
from roleplay_chat.turns import TurnRunner
from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.db.plumbing import outbox_table
from roleplay_common.events import CharacterCard, EventEnvelope, ModelRoute, RequestChatTurn
from roleplay_common.service import Runtime
from tests.conftest import IsolatedEnv
from tests.support.kafka import tap
from tests.support.servers import free_port, serve


class Instance:
    """One chat instance's turn machinery, without its Kafka consumer."""

    def __init__(self, runtime: Runtime, settings: ChatSettings, producer: TurnStreamProducer):
        self.http = httpx.AsyncClient()
        self.runner = TurnRunner(runtime, settings, self.http, ProviderSession(10), producer)

    def crash(self) -> None:
        """Stop as a killed process would: tasks gone, leases neither renewed nor given back."""
        for task in list(self.runner._running):
            task.cancel()

    async def settled(self) -> None:
        await asyncio.gather(*self.runner._running, return_exceptions=True)


@pytest.fixture
async def chat(test_env: IsolatedEnv) -> AsyncIterator[tuple[Runtime, TurnStreamProducer, str]]:
    from roleplay_standin.app import create_app as standin_app

    await asyncio.to_thread(upgrade_to_head, test_env.database_url, MIGRATIONS)
    settings = ChatSettings()
    runtime = Runtime.create("chat", SCHEMA, settings)
    producer = TurnStreamProducer(settings.kafka, client_id="tests")
    port = free_port()
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(serve(standin_app(), port))
        await producer.start()
        stack.push_async_callback(producer.stop)
        stack.push_async_callback(runtime.db.dispose)
        yield runtime, producer, url


def _command(conversation_id: uuid.UUID, user: uuid.UUID, standin: str) -> RequestChatTurn:
    return RequestChatTurn(
        turn_id=uuid.uuid4(),
        conversation_id=conversation_id,
        user_id=user,
        kind="send",
        user_message_id=uuid.uuid4(),
        content="Tell me about the harbor.",
        character=CharacterCard(id=uuid.uuid4(), name="Mira"),
        routes=[
            ModelRoute(
                model_key="standin-chat",
                model_name="standin-chat",
                provider="standin",
                base_url=f"{standin}/v1",
            )
        ],
        requested_at=datetime.now(UTC),
    )


async def _conversation(runtime: Runtime, user: uuid.UUID) -> uuid.UUID:
    conversation_id = uuid.uuid4()
    async with runtime.db.transaction() as session:
        session.add(
            Conversation(id=conversation_id, user_id=user, character_id=uuid.uuid4(), title="t")
        )
    return conversation_id


async def test_a_turn_whose_instance_stopped_is_finished_by_another(
    chat: tuple[Runtime, TurnStreamProducer, str],
) -> None:
    runtime, producer, standin = chat
    settings = ChatSettings()
    async with httpx.AsyncClient(base_url=standin) as client:
        # Slow enough that the first instance is stopped mid-reply.
        await client.post("/_standin/config", json={"tokens_per_second": 40, "output_tokens": 40})
    first, second = Instance(runtime, settings, producer), Instance(runtime, settings, producer)
    user = uuid.uuid4()
    command = _command(await _conversation(runtime, user), user, standin)
    envelope = EventEnvelope.wrap(command, producer="tests")
    turn_id = str(command.turn_id)

    def deltas_of_turn(seen: list[EventEnvelope]) -> list[EventEnvelope]:
        return [e for e in seen if e.data.get("turn_id") == turn_id]

    async with tap("chat.turn.deltas") as records:
        prepared = await first.runner.accept(command, envelope)
        assert prepared is not None
        first.runner.schedule(command, envelope, prepared)
        await records.wait_for(lambda seen: len(deltas_of_turn(seen)) >= 3, timeout=30)
        first.crash()
        await first.settled()
        published_before = len(deltas_of_turn(records.seen))

        # Not yet: the lease still runs.
        assert await second.runner.takeover.take_over() == []
        async with runtime.db.transaction() as session:
            await session.execute(
                sa.update(Turn)
                .where(Turn.id == command.turn_id)  # type: ignore[arg-type]
                .values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
            )
        [taken] = await second.runner.takeover.take_over()
        assert taken.command.turn_id == command.turn_id
        assert await first.runner.takeover.take_over() == []  # one taker
        await second.settled()

        async with runtime.db.transaction() as session:
            turn = await session.get(Turn, command.turn_id)
            assert turn is not None
            assert (turn.status, turn.restarts, turn.lease_owner) == ("completed", 1, None)
            reply = await session.get(Message, turn.assistant_message_id)
            assert reply is not None
            outbox = outbox_table(SCHEMA)
            rows = (await session.execute(sa.select(outbox.c.envelope))).scalars().all()
        ends = [
            r
            for r in rows
            if r["type"] in ("chat.turn.completed", "chat.turn.failed")
            and r["data"]["turn_id"] == turn_id
        ]
        assert [e["type"] for e in ends] == ["chat.turn.completed"]
        final_seq = ends[0]["data"]["deltas"]
        await records.wait_for(
            lambda seen: max((e.data["seq"] for e in deltas_of_turn(seen)), default=0) >= final_seq,
            timeout=30,
        )

    stream = sorted(deltas_of_turn(records.seen), key=lambda e: e.data["seq"])
    assert [e.data["seq"] for e in stream] == list(range(1, final_seq + 1))
    [restart] = [e for e in stream if e.type == "chat.turn.restarted"]
    assert restart.data["seq"] == published_before + 1
    after = [e.data["text"] for e in stream if e.data["seq"] > restart.data["seq"]]
    assert "".join(after) == reply.content


async def test_a_turn_whose_task_crashed_is_given_back_and_taken_over(
    chat: tuple[Runtime, TurnStreamProducer, str],
) -> None:
    """A live instance whose turn task crashed (the database gone mid-reply) neither keeps
    renewing that turn's lease nor holds it: it is given back and taken over at once."""
    runtime, producer, standin = chat
    instance = Instance(runtime, ChatSettings(), producer)
    user = uuid.uuid4()
    command = _command(await _conversation(runtime, user), user, standin)
    envelope = EventEnvelope.wrap(command, producer="tests")

    async def crashing(*args: object, **kwargs: object) -> None:
        raise ConnectionResetError("the database went away")

    prepared = await instance.runner.accept(command, envelope)
    assert prepared is not None
    instance.runner.run = crashing  # type: ignore[method-assign]
    instance.runner.schedule(command, envelope, prepared)
    while instance.runner._running:  # the turn, then the give-back it leaves behind
        await instance.settled()
    del instance.runner.run

    assert await instance.runner.takeover.renew() == 0
    [taken] = await instance.runner.takeover.take_over()
    assert taken.command.turn_id == command.turn_id
    while instance.runner._running:
        await instance.settled()
    async with runtime.db.transaction() as session:
        turn = await session.get(Turn, command.turn_id)
        assert turn is not None
        assert (turn.status, turn.restarts, turn.lease_owner) == ("completed", 1, None)
    await instance.http.aclose()


async def test_a_turn_restarted_too_often_ends_with_a_clear_failure(
    chat: tuple[Runtime, TurnStreamProducer, str],
) -> None:
    runtime, producer, standin = chat
    instance = Instance(runtime, ChatSettings(), producer)
    user = uuid.uuid4()
    command = _command(await _conversation(runtime, user), user, standin)
    envelope = EventEnvelope.wrap(command, producer="tests")
    async with runtime.db.transaction() as session:
        session.add(
            Turn(
                id=command.turn_id,
                conversation_id=command.conversation_id,
                user_id=user,
                kind="send",
                status="streaming",
                deltas=7,
                command=envelope.model_dump(mode="json"),
                lease_owner="chat-dead",
                lease_until=datetime.now(UTC) - timedelta(seconds=1),
                restarts=MAX_RESTARTS,
            )
        )
    assert await instance.runner.takeover.take_over() == []
    async with runtime.db.transaction() as session:
        turn = await session.get(Turn, command.turn_id)
        assert turn is not None and turn.status == "failed"
        assert turn.error_code == "turn_interrupted" and turn.finished_at is not None
        outbox = outbox_table(SCHEMA)
        rows = (await session.execute(sa.select(outbox.c.envelope))).scalars().all()
    failed = [
        r
        for r in rows
        if r["type"] == "chat.turn.failed" and r["data"]["turn_id"] == str(command.turn_id)
    ]
    assert len(failed) == 1 and failed[0]["causation_id"] == str(envelope.id)
    assert await instance.runner.takeover.take_over() == []
    await instance.http.aclose()
