"""Wires the gateway process."""

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from roleplay_common.broker import EventRouter
from roleplay_common.events import KeepScene, RequestChatTurn, RequestSceneJob
from roleplay_common.service import Runtime, create_service_app
from roleplay_gateway import handlers
from roleplay_gateway.catalog.cache import CatalogCache
from roleplay_gateway.catalog.seed import seed_catalog
from roleplay_gateway.catalog.worker_health import watch_workers
from roleplay_gateway.characters import portrait_results
from roleplay_gateway.feed import message_changes as feed_message_changes
from roleplay_gateway.feed import projector as feed_projector
from roleplay_gateway.feed.notifier import FeedNotifier
from roleplay_gateway.feed.retention import keep_pruning
from roleplay_gateway.internal_client import InternalClient
from roleplay_gateway.limits import install_limits
from roleplay_gateway.limits_store import LoginLimits, SharedLimits, keep_pruning_limits
from roleplay_gateway.openapi_document import install_openapi
from roleplay_gateway.routes import PUBLIC_ROUTERS
from roleplay_gateway.security_headers import SecurityHeaders
from roleplay_gateway.settings import GatewaySettings
from roleplay_gateway.store import SCHEMA
from roleplay_gateway.turns.stream_hub import TurnStreamHub
from roleplay_gateway.usage.quota import QuotaCheck

MIGRATIONS = Path(__file__).parent / "migrations"
COMPLETION_TIMEOUT_SECONDS = 120.0
"""A helper feature's model call, with its retries and fallback, may take this long."""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    runtime = Runtime.create("gateway", SCHEMA, settings)
    router = EventRouter("gateway")
    handlers.register(router, runtime)
    feed_projector.register(router, runtime)
    portrait_results.register(router, runtime)
    feed_message_changes.register(router, runtime)
    feed_projector.register_memory(router, runtime)
    notifier = FeedNotifier(settings.database.url.get_secret_value())
    chat = InternalClient("chat", settings.chat_url, settings.service_auth)
    completions = InternalClient(
        "chat", settings.chat_url, settings.service_auth, timeout=COMPLETION_TIMEOUT_SECONDS
    )
    usage = InternalClient("usage", settings.usage_url, settings.service_auth)
    scenes = InternalClient("scenes", settings.scenes_url, settings.service_auth)
    library = InternalClient("library", settings.library_url, settings.service_auth)
    limits = SharedLimits(
        settings.database.url.get_secret_value(),
        LoginLimits(
            per_account=settings.login_failures_per_account,
            per_address=settings.login_failures_per_address,
            window_seconds=settings.login_window_seconds,
        ),
    )
    hub = TurnStreamHub(
        settings.kafka, runtime.topics, retention_seconds=settings.turn_stream_retention_seconds
    )

    async def start(runtime: Runtime) -> None:
        await limits.start()
        await seed_catalog(runtime, settings)
        await hub.start()
        await notifier.start()
        runtime.spawn(
            watch_workers(runtime, settings.worker_health_interval_seconds), "worker-health"
        )
        runtime.spawn(
            keep_pruning(runtime, timedelta(days=settings.feed_retention_days)), "feed-pruning"
        )
        runtime.spawn(keep_pruning_limits(limits), "limits-pruning")

    async def stop(runtime: Runtime) -> None:
        await limits.stop()
        await hub.stop()
        await notifier.stop()
        await chat.close()
        await completions.close()
        await usage.close()
        await scenes.close()
        await library.close()

    app = create_service_app(
        runtime,
        router=router,
        migrations=MIGRATIONS,
        title="Roleplay gateway",
        description="The public HTTP entry: auth, validation, commands, SSE relays, web client.",
        api=PUBLIC_ROUTERS,
        publishes=[RequestChatTurn, RequestSceneJob, KeepScene],
        on_startup=[start],
        on_shutdown=[stop],
        public=True,
    )
    install_limits(app, settings, limits)
    install_openapi(app)
    app.add_middleware(SecurityHeaders)  # outermost: refusals by the limits carry them too
    app.state.limits = limits
    app.state.catalog_cache = CatalogCache(settings.catalog_cache_seconds)
    app.state.settings = settings
    app.state.chat = chat
    app.state.chat_completions = completions
    app.state.usage = usage
    app.state.scenes = scenes
    app.state.library = library
    app.state.quota_check = QuotaCheck(usage) if settings.quotas_enabled else None
    app.state.turn_hub = hub
    app.state.feed_notifier = notifier
    return app
