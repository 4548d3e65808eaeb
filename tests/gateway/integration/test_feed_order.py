"""The conversation feed has no commit-order gap: projectors appending to one conversation at
the same time, each holding its transaction open for a while, never make a reader that resumes
after the last id it saw skip an entry; and the LISTEN connection that wakes the streams comes
back when PostgreSQL ends it."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.service import Runtime
from roleplay_gateway.app import MIGRATIONS
from roleplay_gateway.feed import notifier as notifier_module
from roleplay_gateway.feed.notifier import FeedNotifier
from roleplay_gateway.feed.store import append, read_after
from roleplay_gateway.settings import GatewaySettings
from roleplay_gateway.store import SCHEMA

PROJECTORS = 3
ENTRIES_EACH = 25


@pytest.fixture
async def runtime(fresh_database: str) -> AsyncIterator[Runtime]:
    await asyncio.to_thread(upgrade_to_head, fresh_database, MIGRATIONS)
    settings = GatewaySettings(database={"url": fresh_database, "pool_size": 8})  # type: ignore[arg-type]
    runtime = Runtime.create("gateway", SCHEMA, settings)
    try:
        yield runtime
    finally:
        await runtime.db.dispose()


async def test_concurrent_projectors_never_make_a_resuming_reader_skip_an_entry(
    runtime: Runtime,
) -> None:
    conversation, user = uuid.uuid4(), uuid.uuid4()
    randomness = random.Random(7)

    async def projector(name: str) -> None:
        for n in range(ENTRIES_EACH):
            async with runtime.db.transaction() as session:
                await append(
                    session,
                    event_id=uuid.uuid4(),
                    conversation_id=conversation,
                    user_id=user,
                    entries=[("test.marker", {"marker": f"{name}-{n}"})],
                )
                # The transaction stays open after its row got a seq, as a projector's does
                # while it commits: the window in which a later seq could become visible first.
                await asyncio.sleep(randomness.uniform(0, 0.01))

    writers = asyncio.gather(*(projector(f"p{i}") for i in range(PROJECTORS)))
    seen: list[tuple[int, str]] = []
    resumes = 0
    position = 0
    while True:
        done = writers.done()
        # Each read is a reconnect with Last-Event-ID: a new transaction from the last id seen.
        async with runtime.db.transaction() as session:
            rows = await read_after(session, conversation, position)
        resumes += 1
        for row in rows:
            seen.append((row.seq, row.data["marker"]))
            position = row.seq
        if done and not rows:
            break
        await asyncio.sleep(0.001)
    await writers

    expected = {f"p{i}-{n}" for i in range(PROJECTORS) for n in range(ENTRIES_EACH)}
    markers = [marker for _, marker in seen]
    assert resumes > PROJECTORS * ENTRIES_EACH // 4, "the reader resumed while projectors ran"
    assert sorted(markers) == sorted(expected), expected - set(markers)
    ids = [seq for seq, _ in seen]
    assert ids == sorted(set(ids))


async def test_appends_to_other_conversations_do_not_wait(runtime: Runtime) -> None:
    held, other = uuid.uuid4(), uuid.uuid4()
    async with runtime.db.transaction() as holding:
        await append(
            holding,
            event_id=uuid.uuid4(),
            conversation_id=held,
            user_id=uuid.uuid4(),
            entries=[("test.marker", {"marker": "held"})],
        )
        async with asyncio.timeout(5), runtime.db.transaction() as session:
            await append(
                session,
                event_id=uuid.uuid4(),
                conversation_id=other,
                user_id=uuid.uuid4(),
                entries=[("test.marker", {"marker": "free"})],
            )


async def test_listen_comes_back_after_its_connection_is_terminated(
    runtime: Runtime, fresh_database: str
) -> None:
    notifier = FeedNotifier(fresh_database)
    await notifier.start()
    conversation = uuid.uuid4()
    wake = notifier.subscribe(conversation)

    async def woken_by_an_append(marker: str) -> None:
        wake.clear()
        async with runtime.db.transaction() as session:
            await append(
                session,
                event_id=uuid.uuid4(),
                conversation_id=conversation,
                user_id=uuid.uuid4(),
                entries=[("test.marker", {"marker": marker})],
            )
        await asyncio.wait_for(wake.wait(), timeout=5)

    admin = await asyncpg.connect(fresh_database.replace("+asyncpg", ""))
    try:
        await woken_by_an_append("before")
        for _ in range(2):  # twice: a reconnected listener is itself watched again
            listening_pid = notifier.backend_pid
            assert listening_pid is not None
            assert await admin.fetchval("select pg_terminate_backend($1)", listening_pid)
            async with asyncio.timeout(15):
                while notifier.backend_pid in (None, listening_pid):
                    await asyncio.sleep(0.05)
            assert notifier.listening
            await woken_by_an_append("after")
    finally:
        notifier.unsubscribe(conversation, wake)
        await notifier.stop()
        await admin.close()


async def test_a_listener_lost_without_notice_is_found_by_its_ping(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifier_module, "WATCH_SECONDS", 0.2)
    notifier = FeedNotifier(fresh_database)
    await notifier.start()
    admin = await asyncpg.connect(fresh_database.replace("+asyncpg", ""))
    try:
        listening_pid = notifier.backend_pid
        # As if the loss were never reported (a host gone silent): only the ping can tell.
        connection = notifier._connection
        assert connection is not None
        connection.remove_termination_listener(notifier._on_lost)
        assert await admin.fetchval("select pg_terminate_backend($1)", listening_pid)
        async with asyncio.timeout(15):
            while notifier.backend_pid in (None, listening_pid):
                await asyncio.sleep(0.05)
    finally:
        await notifier.stop()
        await admin.close()
