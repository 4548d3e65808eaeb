"""Wires the chat service process."""

from pathlib import Path

import httpx
from fastapi import FastAPI

from roleplay_chat import (
    api,
    completions,
    handlers,
    impersonate,
    memory_api,
    preview,
    tools_api,
)
from roleplay_chat.providers.openai_compatible import ProviderSession
from roleplay_chat.reply_stream import TurnStreamProducer
from roleplay_chat.settings import ChatSettings
from roleplay_chat.store import SCHEMA
from roleplay_chat.turns import TurnRunner
from roleplay_common.broker import EventRouter
from roleplay_common.events import (
    ChatMessageDeleted,
    ChatMessageEdited,
    ChatTurnCompleted,
    ChatTurnDelta,
    ChatTurnFailed,
    ChatTurnRestarted,
    ChatTurnStarted,
    MemoryUpdated,
    RequestChatTurn,
    UsageRecorded,
)
from roleplay_common.service import Runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ChatSettings | None = None) -> FastAPI:
    settings = settings or ChatSettings()
    runtime = Runtime.create("chat", SCHEMA, settings)
    http = httpx.AsyncClient()
    providers = ProviderSession(settings.provider_max_connections)
    stream_producer = TurnStreamProducer(settings.kafka, client_id=runtime.name)
    turns = TurnRunner(runtime, settings, http, providers, stream_producer)
    router = EventRouter("chat")
    handlers.register(router, turns)
    handlers.attach_turn_commands(runtime, turns)

    async def start(runtime: Runtime) -> None:
        await stream_producer.start()
        runtime.spawn(turns.health.run(), "worker-health")
        runtime.spawn(turns.takeover.keep_leases(), "turn-leases")
        runtime.spawn(turns.takeover.watch(), "turn-takeover")

    async def stop(runtime: Runtime) -> None:
        await turns.shutdown()
        await stream_producer.stop()
        await providers.close()
        await http.aclose()

    app = create_service_app(
        runtime,
        router=router,
        migrations=MIGRATIONS,
        title="Chat service",
        description="Runs roleplay turns: prompt assembly, LLM streaming, messages, memory.",
        api=[
            api.router,
            preview.router,
            tools_api.router,
            impersonate.router,
            completions.router,
            memory_api.router,
        ],
        publishes=[
            ChatTurnStarted,
            ChatTurnDelta,
            ChatTurnRestarted,
            ChatTurnCompleted,
            ChatTurnFailed,
            ChatMessageEdited,
            ChatMessageDeleted,
            MemoryUpdated,
            UsageRecorded,
        ],
        consumes=[RequestChatTurn],
        on_startup=[start],
        on_shutdown=[stop],
    )
    app.state.turns = turns
    return app
