"""Wires the scenes service process."""

from pathlib import Path

import httpx
from fastapi import FastAPI

from roleplay_common.broker import EventRouter
from roleplay_common.events import (
    KeepScene,
    PortraitJobCompleted,
    PortraitJobFailed,
    PortraitJobProgressed,
    SceneJobCompleted,
    SceneJobFailed,
    SceneJobProgressed,
    UsageRecorded,
)
from roleplay_common.service import Runtime, create_service_app
from roleplay_common.tracing import trace_httpx
from roleplay_scenes import api, handlers
from roleplay_scenes.jobs import JobRunner
from roleplay_scenes.settings import ScenesSettings
from roleplay_scenes.store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ScenesSettings | None = None) -> FastAPI:
    settings = settings or ScenesSettings()
    runtime = Runtime.create("scenes", SCHEMA, settings)
    http = trace_httpx(httpx.AsyncClient(limits=httpx.Limits(max_connections=100)))
    jobs = JobRunner(runtime, settings, http)
    router = EventRouter("scenes")
    handlers.register(router, jobs)

    async def start(runtime: Runtime) -> None:
        runtime.spawn(jobs.watch_expiry(), "expiry-sweeper")
        runtime.spawn(jobs.watch_leases(), "job-leases")

    async def stop(runtime: Runtime) -> None:
        await jobs.shutdown()
        await http.aclose()

    app = create_service_app(
        runtime,
        router=router,
        migrations=MIGRATIONS,
        title="Scenes service",
        description="Turns scene requests into images with continuity (t2i, i2i, modification).",
        api=[api.router],
        publishes=[
            SceneJobProgressed,
            SceneJobCompleted,
            SceneJobFailed,
            PortraitJobProgressed,
            PortraitJobCompleted,
            PortraitJobFailed,
            UsageRecorded,
            KeepScene,
        ],
        on_startup=[start],
        on_shutdown=[stop],
    )
    app.state.jobs = jobs
    return app
