"""Wires the library service process."""

from pathlib import Path

from fastapi import FastAPI

from roleplay_common.broker import EventRouter
from roleplay_common.events import LibraryAssetDeleted, LibraryAssetSaved
from roleplay_common.service import Runtime, create_service_app
from roleplay_library import api, handlers
from roleplay_library.settings import LibrarySettings
from roleplay_library.store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: LibrarySettings | None = None) -> FastAPI:
    settings = settings or LibrarySettings()
    runtime = Runtime.create("library", SCHEMA, settings)
    router = EventRouter("library")
    handlers.register(router, runtime)
    return create_service_app(
        runtime,
        router=router,
        migrations=MIGRATIONS,
        title="Library service",
        description="Keeps images: server-side copy to the library, thumbnails, signed URLs.",
        api=[api.router],
        publishes=[LibraryAssetSaved, LibraryAssetDeleted],
    )
