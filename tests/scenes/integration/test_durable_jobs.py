"""Scene jobs survive their instance: a crashed job is taken over (polling the provider's
request it had submitted, or submitting when it had not), fails after bounded attempts, and a
cancel really stops it — at the provider too — with an event."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import sqlalchemy as sa
from sqlmodel import col

from roleplay_common.service import Runtime
from roleplay_scenes.jobs import JobRunner
from roleplay_scenes.store import SceneJob
from tests.scenes.integration.conftest import (
    job_of,
    queued_events,
    runner,
    scene_command,
    sent_to_fal,
    wait_job,
)


async def crash(jobs: JobRunner) -> None:
    """What a killed process leaves: its tasks gone mid-flight, no cleanup, no lease release."""
    tasks = list(jobs._running.values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def upkeep(jobs: JobRunner):  # type: ignore[no-untyped-def]
    task = asyncio.create_task(jobs.watch_leases())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await jobs.shutdown()
        await jobs.http.aclose()


async def test_a_crashed_job_is_taken_over_and_polls_the_request_it_submitted(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 2500, "webhooks": False})
    first, second = runner(runtime, "a"), runner(runtime, "b")
    command, envelope = scene_command(scenes_standin)
    assert await first.accept(command, envelope)
    first.schedule(command, envelope)
    async with asyncio.timeout(10):
        while (await job_of(runtime, command.job_id)).provider_handle is None:
            await asyncio.sleep(0.05)
    await crash(first)
    stuck = await job_of(runtime, command.job_id)
    assert stuck.status == "processing" and stuck.lease_owner == "a"

    async with upkeep(second):
        done = await wait_job(runtime, command.job_id, until=("completed", "failed"))
    assert done.status == "completed", done.error_message
    assert done.lease_owner == "b" and done.attempts == 2
    assert done.provider_request_id == stuck.provider_request_id
    assert len(await sent_to_fal(standin, command.prompt or "")) == 1  # polled, not resubmitted
    types = [e["type"] for e in await queued_events(runtime, command.job_id)]
    assert types.count("scenes.job.completed") == 1 and "scenes.job.failed" not in types
    await first.http.aclose()


async def test_a_job_that_crashed_before_submitting_is_submitted_by_the_taker(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 100})
    first, second = runner(runtime, "a"), runner(runtime, "b")
    command, envelope = scene_command(scenes_standin)
    assert await first.accept(command, envelope)  # the process dies before the job starts
    async with upkeep(second):
        done = await wait_job(runtime, command.job_id, until=("completed", "failed"))
    assert done.status == "completed" and done.lease_owner == "b"
    assert len(await sent_to_fal(standin, command.prompt or "")) == 1
    await first.http.aclose()


async def test_a_job_that_keeps_dying_fails_with_an_event(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    first, second = runner(runtime, "a"), runner(runtime, "b", max_attempts=1)
    command, envelope = scene_command(scenes_standin)
    assert await first.accept(command, envelope)
    async with upkeep(second):
        done = await wait_job(runtime, command.job_id, until=("failed", "completed"))
    assert done.status == "failed" and done.error_code == "job_abandoned"
    failed = [
        e for e in await queued_events(runtime, command.job_id) if e["type"] == "scenes.job.failed"
    ]
    assert len(failed) == 1 and failed[0]["data"]["cancelled"] is False
    await first.http.aclose()


async def test_cancel_stops_polling_cancels_at_the_provider_and_says_so(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 20_000, "webhooks": False})
    jobs = runner(runtime, "a", poll_interval_seconds=5.0)  # the cancel must wake it
    command, envelope = scene_command(scenes_standin)
    await jobs.accept(command, envelope)
    jobs.schedule(command, envelope)
    async with asyncio.timeout(10):
        while (job := await job_of(runtime, command.job_id)).provider_handle is None:
            await asyncio.sleep(0.05)
    asked = await jobs.cancel(command.job_id, command.user_id)
    assert asked is not None and asked.cancel_requested
    done = await wait_job(runtime, command.job_id, until=("cancelled",), timeout=3)
    assert done.error_code == "cancelled" and not jobs._running
    assert job.provider_handle is not None
    status = (await standin.get(job.provider_handle["status_url"])).json()
    assert status.get("error") == "Request was cancelled"
    failed = [
        e for e in await queued_events(runtime, command.job_id) if e["type"] == "scenes.job.failed"
    ]
    assert len(failed) == 1 and failed[0]["data"]["cancelled"] is True
    await jobs.shutdown()
    await jobs.http.aclose()


async def test_a_queued_job_and_an_orphaned_one_are_cancelled_at_once(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    jobs = runner(runtime, "a")
    queued, envelope = scene_command(scenes_standin)
    await jobs.accept(queued, envelope)
    await jobs.cancel(queued.job_id, queued.user_id)
    assert (await job_of(runtime, queued.job_id)).status == "cancelled"
    jobs.schedule(queued, envelope)  # its runner finds it ended and does nothing
    await asyncio.sleep(0.2)
    assert len(await sent_to_fal(standin, queued.prompt or "")) == 0
    types = [e["type"] for e in await queued_events(runtime, queued.job_id)]
    assert types.count("scenes.job.failed") == 1 and "scenes.job.completed" not in types

    # Cancelled while its instance is dead (flag set, nobody polling): the sweeper ends it.
    await standin.post("/_standin/config", json={"image_job_ms": 20_000, "webhooks": False})
    orphan, envelope = scene_command(scenes_standin)
    await jobs.accept(orphan, envelope)
    jobs.schedule(orphan, envelope)
    async with asyncio.timeout(10):
        while (await job_of(runtime, orphan.job_id)).provider_handle is None:
            await asyncio.sleep(0.05)
    await crash(jobs)
    await jobs.cancel(orphan.job_id, orphan.user_id)
    other = runner(runtime, "b")
    async with upkeep(other):
        done = await wait_job(runtime, orphan.job_id, until=("cancelled",), timeout=10)
    assert done.attempts == 1
    await jobs.http.aclose()


async def test_a_graceful_stop_hands_jobs_over_at_once_and_a_lost_lease_stops_the_copy(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 20_000, "webhooks": False})
    first = runner(runtime, "a", lease_seconds=60.0)
    second = runner(runtime, "b", lease_seconds=60.0)
    command, envelope = scene_command(scenes_standin)
    await first.accept(command, envelope)
    first.schedule(command, envelope)
    async with asyncio.timeout(10):
        while (await job_of(runtime, command.job_id)).provider_handle is None:
            await asyncio.sleep(0.05)
    await first.shutdown()  # releases its lease: no waiting out the 60 s
    assert await second.take_over_expired() == 1
    assert (await job_of(runtime, command.job_id)).lease_owner == "b"

    # A copy whose lease was taken while it ran (a long pause, a partition) stops at renewal,
    # and ends nothing: the job stays with its new holder.
    paused = runner(runtime, "c", lease_seconds=60.0)
    other, envelope = scene_command(scenes_standin)
    await paused.accept(other, envelope)
    paused.schedule(other, envelope)
    async with asyncio.timeout(10):
        while (await job_of(runtime, other.job_id)).provider_handle is None:
            await asyncio.sleep(0.05)
    async with runtime.db.transaction() as session:
        await session.execute(
            sa.update(SceneJob).where(col(SceneJob.id) == other.job_id).values(lease_owner="d")
        )
    await paused.renew_leases()
    await asyncio.sleep(0.2)
    assert not paused._running
    job = await job_of(runtime, other.job_id)
    assert job.status == "processing" and job.lease_owner == "d"
    assert not [e for e in await queued_events(runtime, other.job_id) if "failed" in e["type"]]
    await second.renew_leases()
    assert second._running  # the holder goes on
    await second.shutdown()
    for jobs in (first, second, paused):
        await jobs.http.aclose()
