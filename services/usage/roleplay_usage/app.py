"""Wires the usage service process."""

from pathlib import Path

from fastapi import FastAPI

from roleplay_common.broker import EventRouter
from roleplay_common.events import UsageBalanceChanged, UsageRecorded
from roleplay_common.service import Runtime, create_service_app
from roleplay_usage import api, handlers
from roleplay_usage.settings import UsageSettings
from roleplay_usage.store import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: UsageSettings | None = None) -> FastAPI:
    settings = settings or UsageSettings()
    runtime = Runtime.create("usage", SCHEMA, settings)
    handlers.register(runtime, settings)
    app = create_service_app(
        runtime,
        router=EventRouter("usage"),
        migrations=MIGRATIONS,
        title="Usage service",
        description="Records every provider call exactly once; aggregates, balances and quotas.",
        api=[api.router],
        publishes=[UsageRecorded, UsageBalanceChanged],
    )
    app.state.settings = settings
    return app
