"""The outbox: a data change and its event commit together, and nothing is lost in between."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.broker import make_broker
from roleplay_common.db import Database, OutboxRelay, add_to_outbox
from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.db.plumbing import outbox_table
from roleplay_common.events import EventEnvelope, Pong
from roleplay_common.settings import DatabaseSettings, KafkaSettings
from roleplay_usage.app import MIGRATIONS
from tests.conftest import IsolatedEnv
from tests.support.kafka import tap

SCHEMA = "usage"


class RelayCrashedError(RuntimeError):
    pass


class CrashingRelay(OutboxRelay):
    async def _mark_published(self, session: AsyncSession, seqs: list[int]) -> None:
        raise RelayCrashedError


@pytest.fixture
async def db(fresh_database: str) -> AsyncIterator[Database]:
    import asyncio

    await asyncio.to_thread(upgrade_to_head, fresh_database, MIGRATIONS)
    database = Database(
        DatabaseSettings(url=fresh_database), schema=SCHEMA, application_name="tests"
    )
    async with database.transaction() as session:
        await session.execute(sa.text("create table if not exists widgets (id uuid primary key)"))
    yield database
    await database.dispose()


def _pong() -> EventEnvelope:
    return EventEnvelope.wrap(
        Pong(probe_id=uuid.uuid4().hex, service="tests", ping_event_id="-"), producer="tests"
    )


async def _count(db: Database, table: str, where: str, value: object) -> int:
    async with db.transaction() as session:
        result = await session.scalar(
            sa.text(f"select count(*) from {table} where {where} = :v"), {"v": value}
        )
    return int(result or 0)


async def test_a_change_and_its_event_commit_or_roll_back_together(
    db: Database, test_env: IsolatedEnv
) -> None:
    from roleplay_common.broker import Topics

    topics = Topics(test_env.topic_prefix)
    kept, dropped = _pong(), _pong()
    widget_kept, widget_dropped = uuid.uuid4(), uuid.uuid4()
    async with db.transaction() as session:
        await session.execute(sa.text("insert into widgets values (:id)"), {"id": widget_kept})
        await add_to_outbox(session, SCHEMA, topics, kept)
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await session.execute(
                sa.text("insert into widgets values (:id)"), {"id": widget_dropped}
            )
            await add_to_outbox(session, SCHEMA, topics, dropped)
            raise RuntimeError("the handler failed after writing")
    assert await _count(db, "widgets", "id", widget_kept) == 1
    assert await _count(db, "outbox", "event_id", kept.id) == 1
    assert await _count(db, "widgets", "id", widget_dropped) == 0
    assert await _count(db, "outbox", "event_id", dropped.id) == 0


async def test_a_relay_killed_between_commit_and_publish_loses_nothing(
    db: Database, test_env: IsolatedEnv
) -> None:
    from roleplay_common.broker import Topics

    topics = Topics(test_env.topic_prefix)
    envelope = _pong()
    async with db.transaction() as session:
        await add_to_outbox(session, SCHEMA, topics, envelope)

    t = outbox_table(SCHEMA)
    broker = make_broker(KafkaSettings(), client_id="tests-relay")
    await broker.start()
    try:
        # The first relay dies after publishing but before marking the row published.
        async with tap(Pong.topic) as pongs:
            with pytest.raises(RelayCrashedError):
                await CrashingRelay(db, broker).relay_once()
            assert await _count(db, "outbox", "event_id", envelope.id) == 1
            async with db.transaction() as session:
                unpublished = await session.scalar(
                    sa.select(sa.func.count())
                    .select_from(t)
                    .where(t.c.event_id == envelope.id, t.c.published_at.is_(None))
                )
            assert unpublished == 1

            # The restarted relay publishes it again; consumers dedupe by event id.
            assert await OutboxRelay(db, broker).relay_once() == 1
            seen = await pongs.wait_for(
                lambda s: sum(e.id == envelope.id for e in s) >= 2, timeout=20
            )
        assert {e.id for e in seen if e.id == envelope.id} == {envelope.id}
        async with db.transaction() as session:
            published = await session.scalar(
                sa.select(t.c.published_at).where(t.c.event_id == envelope.id)
            )
        assert published is not None
    finally:
        await broker.stop()
