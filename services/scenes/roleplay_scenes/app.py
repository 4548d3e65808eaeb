"""Wires the scenes service process."""

from pathlib import Path

from fastapi import FastAPI

from roleplay_common.broker import EventRouter
from roleplay_common.service import Runtime, create_service_app
from roleplay_scenes import api, handlers
from roleplay_scenes.settings import ScenesSettings
from roleplay_scenes.store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ScenesSettings | None = None) -> FastAPI:
    settings = settings or ScenesSettings()
    runtime = Runtime.create("scenes", SCHEMA, settings)
    router = EventRouter("scenes")
    handlers.register(router, runtime)
    return create_service_app(
        runtime,
        router=router,
        migrations=MIGRATIONS,
        title="Scenes service",
        description="Turns scene requests into images with continuity (t2i, i2i, modification).",
        api=[api.router],
    )
