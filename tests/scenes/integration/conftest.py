"""A scenes runtime on the session's real PostgreSQL, Kafka and MinIO, the provider stand-in
as a real HTTP server, and helpers to build commands and read jobs and queued events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from roleplay_common.broker import ensure_topics
from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.db.plumbing import outbox_table
from roleplay_common.events import (
    CharacterCard,
    EventEnvelope,
    ModelRoute,
    RequestSceneJob,
    SceneJobProgressed,
)
from roleplay_common.service import Runtime
from roleplay_scenes.app import MIGRATIONS
from roleplay_scenes.jobs import JobRunner
from roleplay_scenes.settings import ScenesSettings
from roleplay_scenes.store import SCHEMA, Scene, SceneJob
from roleplay_standin.app import create_app
from tests.conftest import IsolatedEnv
from tests.standin.conftest import ThreadedServer


@pytest.fixture(scope="session")
def scenes_standin() -> Iterator[str]:
    with ThreadedServer(create_app()) as server:
        yield server.url


@pytest.fixture
async def standin(scenes_standin: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=scenes_standin) as client:
        await client.post("/_standin/reset")
        yield client
        await client.post("/_standin/reset")


@pytest.fixture
async def runtime(test_env: IsolatedEnv) -> AsyncIterator[Runtime]:
    settings = ScenesSettings()
    await asyncio.to_thread(upgrade_to_head, test_env.database_url, MIGRATIONS)
    runtime = Runtime.create("scenes", SCHEMA, settings)
    await runtime.storage.ensure_buckets()
    await ensure_topics(settings.kafka, [runtime.topics.name(SceneJobProgressed)])
    await runtime.broker.start()
    try:
        yield runtime
    finally:
        await runtime.broker.stop()
        await runtime.db.dispose()


def runner(runtime: Runtime, instance: str, **settings: Any) -> JobRunner:
    values: dict[str, Any] = {"lease_seconds": 1.0, "poll_interval_seconds": 0.05}
    values.update(settings)
    return JobRunner(runtime, ScenesSettings(**values), httpx.AsyncClient(), instance=instance)


def route(standin_url: str, model: str = "standin-image", task: str = "t2i") -> ModelRoute:
    return ModelRoute(
        model_key=model,
        model_name=model,
        provider="standin-fal",
        provider_kind="fal",
        base_url=f"{standin_url}/fal",
        task=task,
    )


def scene_command(standin_url: str, **overrides: Any) -> tuple[RequestSceneJob, EventEnvelope]:
    values: dict[str, Any] = {
        "job_id": uuid.uuid4(),
        "scene_id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "conversation_id": uuid.uuid4(),
        "mode": "t2i",
        "prompt": f"a lighthouse {uuid.uuid4().hex[:8]}",
        "character": CharacterCard(id=uuid.uuid4(), name="Mira"),
        "routes": [route(standin_url)],
        "requested_at": datetime.now(UTC),
    }
    values.update(overrides)
    command = RequestSceneJob.model_validate(values)
    return command, EventEnvelope.wrap(command, producer="test")


async def job_of(runtime: Runtime, job_id: uuid.UUID) -> SceneJob:
    async with runtime.db.transaction() as session:
        job = await session.get(SceneJob, job_id)
    assert job is not None
    return job


async def scene_of(runtime: Runtime, scene_id: uuid.UUID) -> Scene:
    async with runtime.db.transaction() as session:
        scene = await session.get(Scene, scene_id)
    assert scene is not None
    return scene


async def wait_job(
    runtime: Runtime, job_id: uuid.UUID, *, until: tuple[str, ...], timeout: float = 20
) -> SceneJob:
    async with asyncio.timeout(timeout):
        while (job := await job_of(runtime, job_id)).status not in until:
            await asyncio.sleep(0.05)
    return job


async def queued_events(runtime: Runtime, job_id: uuid.UUID) -> list[dict[str, Any]]:
    """The outbox envelopes about the job, oldest first."""
    table = outbox_table(SCHEMA)
    async with runtime.db.transaction() as session:
        rows = (await session.execute(sa.select(table.c.envelope).order_by(table.c.seq))).all()
    return [r.envelope for r in rows if r.envelope["data"].get("job_id") == str(job_id)]


async def sent_to_fal(standin: httpx.AsyncClient, prompt: str) -> list[dict[str, Any]]:
    """The fal submits the stand-in received with this prompt."""
    found = (await standin.get("/_standin/requests")).json()
    items = found["items"] if isinstance(found, dict) else found
    return [
        r
        for r in items
        if r.get("family") == "fal"
        and isinstance(r.get("body"), dict)
        and prompt in str(r["body"].get("prompt", ""))
    ]
