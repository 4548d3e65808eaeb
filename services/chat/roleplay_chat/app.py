"""Wires the chat service process."""

from pathlib import Path

from fastapi import FastAPI

from roleplay_chat import api, handlers
from roleplay_chat.settings import ChatSettings
from roleplay_chat.store import SCHEMA
from roleplay_common.broker import EventRouter
from roleplay_common.service import Runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ChatSettings | None = None) -> FastAPI:
    settings = settings or ChatSettings()
    runtime = Runtime.create("chat", SCHEMA, settings)
    router = EventRouter("chat")
    handlers.register(router, runtime)
    return create_service_app(
        runtime,
        router=router,
        migrations=MIGRATIONS,
        title="Chat service",
        description="Runs roleplay turns: prompt assembly, LLM streaming, messages, memory.",
        api=[api.router],
    )
