"""Kafka subscribers of the scenes service."""

from roleplay_common.broker import EventRouter
from roleplay_common.events import EventEnvelope, RequestSceneJob
from roleplay_scenes.jobs import JobRunner


def register(router: EventRouter, jobs: JobRunner) -> None:
    """Declare this service's event handlers on `router`."""

    @router.handles(RequestSceneJob, consumer="jobs")
    async def on_job_requested(command: RequestSceneJob, envelope: EventEnvelope) -> None:
        """Record the job, then generate in the background (one per conversation at a time)."""
        if await jobs.accept(command, envelope):
            jobs.schedule(command, envelope)
