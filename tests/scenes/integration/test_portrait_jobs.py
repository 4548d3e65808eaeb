"""A portrait job is a scene job without a conversation: durable like one (taken over after a
crash, failed after bounded attempts), but it announces `scenes.portrait.*` only — never a
scene fact — and its image is no scene to continue from."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from roleplay_common.db.plumbing import outbox_table
from roleplay_common.service import Runtime
from roleplay_scenes.store import SCHEMA
from tests.scenes.integration.conftest import (
    job_of,
    queued_events,
    runner,
    scene_command,
    scene_of,
    sent_to_fal,
    wait_job,
)
from tests.scenes.integration.test_durable_jobs import crash, upkeep


async def test_a_crashed_portrait_job_is_taken_over_and_announced_as_a_portrait(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 1500, "webhooks": False})
    first, second = runner(runtime, "a"), runner(runtime, "b")
    command, envelope = scene_command(
        scenes_standin, purpose="portrait", conversation_id=None, prompt=None
    )
    assert envelope.key == str(command.character.id)
    assert await first.accept(command, envelope)
    first.schedule(command, envelope)
    async with asyncio.timeout(10):
        while (await job_of(runtime, command.job_id)).provider_handle is None:
            await asyncio.sleep(0.05)
    await crash(first)

    async with upkeep(second):
        done = await wait_job(runtime, command.job_id, until=("completed", "failed"))
    assert done.status == "completed", done.error_message
    assert done.purpose == "portrait" and done.conversation_id is None and done.attempts == 2
    image = await scene_of(runtime, command.scene_id)
    assert image.conversation_id is None and image.image_key
    assert image.image_key.startswith(f"{command.user_id}/portraits/")
    assert len(await sent_to_fal(standin, "character portrait of Mira")) == 1

    events = await queued_events(runtime, command.job_id)
    types = [e["type"] for e in events]
    assert types.count("scenes.portrait.completed") == 1
    assert not [t for t in types if t.startswith("scenes.job.")]
    completed = next(e for e in events if e["type"] == "scenes.portrait.completed")
    assert completed["key"] == str(command.character.id)
    assert completed["data"]["character_id"] == str(command.character.id)
    assert completed["data"]["image"]["key"] == image.image_key
    usage = await queued_events_of_type(runtime, "usage.recorded", command.job_id)
    assert usage and {u["data"]["request_type"] for u in usage} == {"portrait"}
    await first.http.aclose()


async def test_a_portrait_job_that_keeps_dying_fails_as_a_portrait(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    first, second = runner(runtime, "a"), runner(runtime, "b", max_attempts=1)
    command, envelope = scene_command(scenes_standin, purpose="portrait", conversation_id=None)
    assert await first.accept(command, envelope)
    async with upkeep(second):
        done = await wait_job(runtime, command.job_id, until=("failed", "completed"))
    assert done.status == "failed" and done.error_code == "job_abandoned"
    types = [e["type"] for e in await queued_events(runtime, command.job_id)]
    assert types.count("scenes.portrait.failed") == 1
    assert not [t for t in types if t.startswith("scenes.job.")]
    await first.http.aclose()


async def test_a_portrait_is_no_scene_to_continue_from(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 50})
    jobs = runner(runtime, "a")
    portrait, envelope = scene_command(scenes_standin, purpose="portrait", conversation_id=None)
    assert await jobs.accept(portrait, envelope)
    jobs.schedule(portrait, envelope)
    assert (await wait_job(runtime, portrait.job_id, until=("completed", "failed"))).status == (
        "completed"
    )
    scene, envelope = scene_command(
        scenes_standin,
        mode="i2i",
        previous_scene_id=portrait.scene_id,
        user_id=portrait.user_id,
        conversation_id=uuid.uuid4(),
    )
    assert await jobs.accept(scene, envelope)
    jobs.schedule(scene, envelope)
    done = await wait_job(runtime, scene.job_id, until=("completed", "failed"))
    assert done.status == "failed" and done.error_code == "previous_scene_not_found"
    await jobs.shutdown()
    await jobs.http.aclose()


async def queued_events_of_type(
    runtime: Runtime, event_type: str, job_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Outbox envelopes of `event_type` whose `reference_id` is the job (usage records)."""
    table = outbox_table(SCHEMA)
    async with runtime.db.transaction() as session:
        rows = (await session.execute(sa.select(table.c.envelope).order_by(table.c.seq))).all()
    return [
        r.envelope
        for r in rows
        if r.envelope["type"] == event_type
        and r.envelope["data"].get("reference_id") == str(job_id)
    ]
