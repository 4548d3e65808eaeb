"""Wires the gateway process."""

from pathlib import Path

from fastapi import FastAPI

from roleplay_common.broker import EventRouter
from roleplay_common.service import Runtime, create_service_app
from roleplay_gateway import handlers
from roleplay_gateway.routes import PUBLIC_ROUTERS
from roleplay_gateway.settings import GatewaySettings
from roleplay_gateway.store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    runtime = Runtime.create("gateway", SCHEMA, settings)
    router = EventRouter("gateway")
    handlers.register(router, runtime)
    app = create_service_app(
        runtime,
        router=router,
        migrations=MIGRATIONS,
        title="Roleplay gateway",
        description="The public HTTP entry: auth, validation, commands, SSE relays, web client.",
        api=PUBLIC_ROUTERS,
    )
    app.state.settings = settings
    return app
