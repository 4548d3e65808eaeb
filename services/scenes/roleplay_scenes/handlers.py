"""Kafka subscribers of the scenes service."""

from roleplay_common.broker import EventRouter
from roleplay_common.events import (
    EventEnvelope,
    LibraryAssetDeleted,
    LibraryAssetSaved,
    RequestSceneJob,
)
from roleplay_scenes.dead_letters import job_failed
from roleplay_scenes.jobs import JobRunner


def register(router: EventRouter, jobs: JobRunner) -> None:
    """Declare this service's event handlers on `router`."""
    router.fails_with(RequestSceneJob, job_failed)

    @router.handles(RequestSceneJob, consumer="jobs")
    async def on_job_requested(command: RequestSceneJob, envelope: EventEnvelope) -> None:
        """Record the job, then generate in the background (one per conversation at a time)."""
        if await jobs.accept(command, envelope):
            jobs.schedule(command, envelope)

    @router.handles(LibraryAssetSaved, consumer="library")
    async def on_asset_saved(fact: LibraryAssetSaved, envelope: EventEnvelope) -> None:
        """Remember the library's copy of a kept scene (i2i reads it after workspace expiry)."""
        await jobs.record_kept(fact)

    @router.handles(LibraryAssetDeleted, consumer="library")
    async def on_asset_deleted(fact: LibraryAssetDeleted, envelope: EventEnvelope) -> None:
        await jobs.forget_kept(fact)
