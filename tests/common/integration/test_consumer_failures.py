"""Transient or poison, on real Kafka and PostgreSQL: a database outage pauses a consumer on
its event until the database is back (nothing dead-lettered, nothing skipped, order kept); an
event that fails by itself is dead-lettered after bounded tries with why, the consumer moves
on, a waiting client gets its failure fact, and the dead letter can be redriven once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from roleplay_chat.dead_letters import turn_failed
from roleplay_common.broker import (
    EventRouter,
    Topics,
    attach_batch_consumer,
    ensure_topics,
    make_broker,
)
from roleplay_common.dead_letter_outcomes import DEAD_LETTERED_CODE
from roleplay_common.events import (
    ChatTurnFailed,
    EventEnvelope,
    Ping,
    RequestChatTurn,
    RequestSceneJob,
    SceneJobFailed,
)
from roleplay_common.ops.dead_letters import (
    AlreadyRedriven,
    list_dead_letters,
    redrive,
)
from roleplay_common.settings import KafkaSettings
from roleplay_scenes.dead_letters import job_failed
from tests.conftest import IsolatedEnv
from tests.support.kafka import producer, tap
from tests.support.services import running_all
from tests.support.tcp_proxy import tcp_proxy

RETRIES = 3


@asynccontextmanager
async def consuming(router: EventRouter) -> AsyncIterator[None]:
    settings = KafkaSettings()
    topics = Topics(settings.topic_prefix)
    broker = make_broker(settings, client_id=router.service, registry=CollectorRegistry())
    router.attach(broker, topics, partitions=2, retries=RETRIES)
    await ensure_topics(settings, router.topics(topics))
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


async def wait_until(check: object, timeout: float = 30.0) -> None:
    assert callable(check)
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


def pings(key: str, n: int) -> list[EventEnvelope]:
    # One probe id: one key, one partition, so the order is the order sent.
    return [
        EventEnvelope.model_validate(
            {
                **EventEnvelope.wrap(Ping(probe_id=key), producer="tests").model_dump(),
                "data": {
                    "probe_id": key,
                    "n": i,
                },
            }
        )
        for i in range(n)
    ]


async def test_a_database_outage_pauses_the_consumer_and_loses_nothing(
    test_env: IsolatedEnv,
) -> None:
    target = urlsplit(test_env.endpoints.database_url.replace("+asyncpg", ""))
    service = f"outage{uuid.uuid4().hex[:6]}"
    router = EventRouter(service)
    handled: list[int] = []
    failures: list[str] = []

    async with tcp_proxy(target.hostname or "127.0.0.1", target.port or 5432) as relay:
        url = urlunsplit(
            target._replace(netloc=f"{target.netloc.rsplit('@', 1)[0]}@127.0.0.1:{relay.port}")
        )

        sent = pings(uuid.uuid4().hex, 6)

        @router.handles(Ping, consumer="probe")
        async def record(ping: Ping, envelope: EventEnvelope) -> None:
            if ping.probe_id != sent[0].key:
                return  # another test's
            try:
                connection = await asyncpg.connect(url, timeout=2)
                try:
                    await connection.execute("select 1")
                finally:
                    await connection.close()
            except Exception as exc:
                failures.append(type(exc).__name__)
                raise
            handled.append(int(envelope.data["n"]))

        async with consuming(router), producer() as p:
            await p.send(Ping.topic, sent[0])
            await wait_until(lambda: handled == [0])
            relay.cut()
            for envelope in sent[1:]:
                await p.send(Ping.topic, envelope)
            await wait_until(lambda: len(failures) >= RETRIES + 2)
            await asyncio.sleep(1.0)
            assert handled == [0], "nothing is handled while the database is away"
            relay.restore()
            await wait_until(lambda: handled == [0, 1, 2, 3, 4, 5])

    print(f"transient failures retried: {len(failures)} ({sorted(set(failures))})")
    assert await list_dead_letters(KafkaSettings(), service=service) == []


async def test_a_poison_event_is_dead_lettered_with_why_then_redriven_once(
    test_env: IsolatedEnv,
) -> None:
    service = f"poison{uuid.uuid4().hex[:6]}"
    router = EventRouter(service)
    handled: list[int] = []
    tries: list[int] = []
    broken = {"on": True}

    sent = pings(uuid.uuid4().hex, 3)

    @router.handles(Ping, consumer="probe")
    async def record(ping: Ping, envelope: EventEnvelope) -> None:
        if ping.probe_id != sent[0].key:
            return  # another test's
        n = int(envelope.data["n"])
        if n == 1 and broken["on"]:
            tries.append(n)
            raise ValueError("cannot handle event 1")
        handled.append(n)

    settings = KafkaSettings()
    async with consuming(router), producer() as p:
        for envelope in sent:
            await p.send(Ping.topic, envelope)
        await wait_until(lambda: handled == [0, 2])
        assert len(tries) == RETRIES

        [letter] = await list_dead_letters(settings, service=service)
        assert letter.record.original["id"] == str(sent[1].id)
        assert letter.record.error_type == "ValueError"
        assert letter.record.attempts == RETRIES
        assert letter.headers["dlq-error-type"] == "ValueError"
        assert letter.headers["dlq-error-message"] == "ValueError: cannot handle event 1"
        assert letter.headers["dlq-tries"] == str(RETRIES)
        assert letter.headers["dlq-source-topic"] == Topics(settings.topic_prefix).name(Ping)
        assert letter.headers["dlq-source-offset"] == str(letter.record.source_offset)
        assert letter.record.source_partition is not None
        assert not letter.redriven

        broken["on"] = False
        await redrive(settings, letter.id, by="tests")
        await wait_until(lambda: handled == [0, 2, 1])
        with pytest.raises(AlreadyRedriven):
            await redrive(settings, letter.id, by="tests")
        [again] = await list_dead_letters(settings, service=service)
        assert again.redriven
        await asyncio.sleep(0.5)
        assert handled == [0, 2, 1], "redriven once"


async def test_a_dead_lettered_command_fails_its_turn_or_job_for_the_client(
    test_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Topics of its own: the session's command topics hold other tests' valid commands,
    # which this test's handlers would dead-letter.
    monkeypatch.setenv("ROLEPLAY_KAFKA_TOPIC_PREFIX", f"dlq{uuid.uuid4().hex[:8]}.")
    service = f"commands{uuid.uuid4().hex[:6]}"
    router = EventRouter(service)
    # The owning services' rules: which failure fact a dead-lettered command gets.
    router.fails_with(RequestChatTurn, turn_failed)
    router.fails_with(RequestSceneJob, job_failed)

    @router.handles(RequestChatTurn, consumer="turns")
    async def never_turn(_: RequestChatTurn, __: EventEnvelope) -> None:
        raise AssertionError("an invalid command never reaches its handler")

    @router.handles(RequestSceneJob, consumer="jobs")
    async def never_job(_: RequestSceneJob, __: EventEnvelope) -> None:
        raise AssertionError("an invalid command never reaches its handler")

    ids = {k: str(uuid.uuid4()) for k in ("turn_id", "job_id", "scene_id", "conversation_id")}
    user = str(uuid.uuid4())
    turn = EventEnvelope(
        type=RequestChatTurn.event_type,
        producer="tests",
        key=ids["conversation_id"],
        correlation_id="c1",
        data={
            "turn_id": ids["turn_id"],
            "conversation_id": ids["conversation_id"],
            "user_id": user,
        },
    )
    job = EventEnvelope(
        type=RequestSceneJob.event_type,
        producer="tests",
        key=ids["conversation_id"],
        correlation_id="c2",
        data={
            "job_id": ids["job_id"],
            "scene_id": ids["scene_id"],
            "conversation_id": ids["conversation_id"],
            "user_id": user,
        },
    )
    async with (
        tap(ChatTurnFailed.topic) as turn_facts,
        tap(SceneJobFailed.topic) as job_facts,
        consuming(router),
        producer() as p,
    ):
        await p.send(RequestChatTurn.topic, turn)
        await p.send(RequestSceneJob.topic, job)
        seen = await turn_facts.wait_for(lambda s: any(e.causation_id == turn.id for e in s))
        failed = next(e for e in seen if e.causation_id == turn.id).payload()
        assert isinstance(failed, ChatTurnFailed)
        assert str(failed.turn_id) == ids["turn_id"]
        assert failed.error.code == DEAD_LETTERED_CODE
        seen = await job_facts.wait_for(lambda s: any(e.causation_id == job.id for e in s))
        failed_job = next(e for e in seen if e.causation_id == job.id).payload()
        assert isinstance(failed_job, SceneJobFailed)
        assert str(failed_job.job_id) == ids["job_id"]
        assert failed_job.code == DEAD_LETTERED_CODE
    letters = await list_dead_letters(KafkaSettings(), service=service)
    assert sorted(d.record.consumer for d in letters) == ["jobs", "turns"]


async def test_a_batch_consumer_waits_out_transient_errors_and_dead_letters_only_the_poison(
    test_env: IsolatedEnv,
) -> None:
    service = f"batch{uuid.uuid4().hex[:6]}"
    settings = KafkaSettings()
    topics = Topics(settings.topic_prefix)
    sent = pings(uuid.uuid4().hex, 4)
    handled: list[int] = []
    outages = {"left": 3}

    async def handle(items: list[tuple[Ping, EventEnvelope]]) -> None:
        mine = [e for p, e in items if p.probe_id == sent[0].key]
        if not mine:
            return
        if outages["left"]:
            outages["left"] -= 1
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
        if any(int(e.data["n"]) == 2 for e in mine):
            raise ValueError("cannot count event 2")
        handled.extend(int(e.data["n"]) for e in mine)

    broker = make_broker(settings, client_id=service, registry=CollectorRegistry())
    attach_batch_consumer(
        broker,
        topics,
        Ping,
        handle,
        service=service,
        consumer="batch",
        partitions=2,
        retries=RETRIES,
        max_records=50,
        timeout_ms=200,
    )
    await ensure_topics(settings, [topics.name(Ping), topics.dead_letter(service)])
    async with producer() as p:
        for envelope in sent:
            await p.send(Ping.topic, envelope)
    await broker.start()
    try:
        await wait_until(lambda: sorted(handled) == [0, 1, 3])
    finally:
        await broker.stop()
    assert outages["left"] == 0
    [letter] = await list_dead_letters(settings, service=service)
    assert letter.record.original["id"] == str(sent[2].id)
    assert letter.record.error_type == "ValueError"
    assert letter.record.source_offset is not None
    assert letter.headers["dlq-source-partition"] == str(letter.record.source_partition)


async def test_the_chat_and_scenes_services_fail_what_they_dead_letter(
    test_env: IsolatedEnv,
) -> None:
    """The owning service publishes the failure: chat for a turn, scenes for a scene job."""
    from roleplay_chat.app import create_app as chat_app
    from roleplay_scenes.app import create_app as scenes_app

    conversation, user = str(uuid.uuid4()), str(uuid.uuid4())
    turn = EventEnvelope(
        type=RequestChatTurn.event_type,
        producer="tests",
        key=conversation,
        correlation_id="c3",
        data={"turn_id": str(uuid.uuid4()), "conversation_id": conversation, "user_id": user},
    )
    job = EventEnvelope(
        type=RequestSceneJob.event_type,
        producer="tests",
        key=conversation,
        correlation_id="c4",
        data={
            "job_id": str(uuid.uuid4()),
            "scene_id": str(uuid.uuid4()),
            "conversation_id": conversation,
            "user_id": user,
        },
    )
    async with (
        tap(ChatTurnFailed.topic) as turn_facts,
        tap(SceneJobFailed.topic) as job_facts,
        running_all(chat_app(), scenes_app()),
        producer() as p,
    ):
        await p.send(RequestChatTurn.topic, turn)
        await p.send(RequestSceneJob.topic, job)
        seen = await turn_facts.wait_for(lambda s: any(e.causation_id == turn.id for e in s))
        [failed] = [e for e in seen if e.causation_id == turn.id]
        assert failed.producer == "chat"
        seen = await job_facts.wait_for(lambda s: any(e.causation_id == job.id for e in s))
        [failed_job] = [e for e in seen if e.causation_id == job.id]
        assert failed_job.producer == "scenes"
    chat_letters = await list_dead_letters(KafkaSettings(), service="chat")
    assert any(d.record.original["id"] == str(turn.id) for d in chat_letters)
