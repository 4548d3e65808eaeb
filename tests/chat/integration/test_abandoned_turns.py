"""A turn whose process died mid-reply is ended with `turn_interrupted`, never left hanging;
a turn ended that way is never run (or ended) a second time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from roleplay_chat.app import MIGRATIONS
from roleplay_chat.domain.system_prompt import Memory
from roleplay_chat.providers.openai_compatible import ProviderSession
from roleplay_chat.reply_stream import TurnStreamProducer
from roleplay_chat.settings import ChatSettings
from roleplay_chat.store import SCHEMA, Conversation, Turn
from roleplay_chat.turns import Prepared, TurnRunner
from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.db.plumbing import outbox_table
from roleplay_common.events import CharacterCard, EventEnvelope, ModelRoute, RequestChatTurn
from roleplay_common.service import Runtime
from tests.conftest import IsolatedEnv


async def test_an_expired_lease_ends_the_turn_with_a_clear_failure(test_env: IsolatedEnv) -> None:
    await _abandoned_turn_is_ended(test_env, run_it_afterwards=False)


async def test_a_turn_ended_while_it_waited_is_not_run_afterwards(test_env: IsolatedEnv) -> None:
    """The sweeper ended it (its lease ran out while it queued): when its turn comes, this
    instance neither streams it nor ends it again (no `turn.failed` then `turn.completed`)."""
    await _abandoned_turn_is_ended(test_env, run_it_afterwards=True)


async def _abandoned_turn_is_ended(test_env: IsolatedEnv, *, run_it_afterwards: bool) -> None:
    await asyncio.to_thread(upgrade_to_head, test_env.database_url, MIGRATIONS)
    settings = ChatSettings()
    runtime = Runtime.create("chat", SCHEMA, settings)
    producer = TurnStreamProducer(settings.kafka, client_id="tests")
    http = httpx.AsyncClient()
    runner = TurnRunner(runtime, settings, http, ProviderSession(10), producer)
    user, conversation_id, turn_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    command = RequestChatTurn(
        turn_id=turn_id,
        conversation_id=conversation_id,
        user_id=user,
        kind="send",
        content="hello",
        character=CharacterCard(id=uuid.uuid4(), name="Mira"),
        routes=[ModelRoute(model_key="m", model_name="m", provider="p", base_url="http://x")],
        requested_at=datetime.now(UTC),
    )
    envelope = EventEnvelope.wrap(command, producer="tests")
    try:
        async with runtime.db.transaction() as session:
            session.add(
                Conversation(id=conversation_id, user_id=user, character_id=uuid.uuid4(), title="t")
            )
            session.add(
                Turn(
                    id=turn_id,
                    conversation_id=conversation_id,
                    user_id=user,
                    kind="send",
                    status="streaming",
                    deltas=7,
                    command=envelope.model_dump(mode="json"),
                    lease_owner="chat-dead",
                    lease_until=datetime.now(UTC) - timedelta(seconds=1),
                )
            )
        assert await runner.end_abandoned_turns() >= 1
        assert await runner.end_abandoned_turns() == 0
        if run_it_afterwards:
            await producer.start()
            try:
                await runner._run_guarded(command, envelope, Prepared([], Memory("", ())))
            finally:
                await producer.stop()
        async with runtime.db.transaction() as session:
            turn = await session.get(Turn, turn_id)
            assert turn is not None and turn.status == "failed"
            assert turn.error_code == "turn_interrupted" and turn.finished_at is not None
            outbox = outbox_table(SCHEMA)
            rows = (await session.execute(sa.select(outbox.c.envelope))).scalars().all()
        failed = [
            r
            for r in rows
            if r["type"] == "chat.turn.failed" and r["data"]["turn_id"] == str(turn_id)
        ]
        assert not [
            r
            for r in rows
            if r["type"] == "chat.turn.completed" and r["data"]["turn_id"] == str(turn_id)
        ]
        assert len(failed) == 1
        assert failed[0]["data"]["error"]["code"] == "turn_interrupted"
        assert failed[0]["causation_id"] == str(envelope.id)
    finally:
        await http.aclose()
        await runtime.db.dispose()
