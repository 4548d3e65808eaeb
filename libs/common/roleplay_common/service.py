"""One place where a service process is wired: broker, database, storage, outbox, HTTP.

A service's `app.py` builds a `Runtime` from its settings, declares its handlers on an
`EventRouter`, and calls `create_service_app`. Every service then has the same process shape:
migrations applied on start, topics created, consumers attached, the outbox relayed, and
`/healthz`, `/readyz`, `/metrics`, `/asyncapi` served next to its own API. Only the health
routes are open: the rest of an internal service, and the operator routes of the public
gateway, need the service token (`roleplay_common.service_auth`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI, get_asyncapi_html
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from roleplay_common.broker import EventRouter, Topics, ensure_topics, make_broker
from roleplay_common.db import Database, OutboxRelay, add_to_outbox, claim_event
from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.events import Event, EventEnvelope, Ping, Pong
from roleplay_common.http import (
    SERVER_KEEPALIVE_SECONDS,
    CorrelationMiddleware,
    ErrorResponse,
    install_error_handlers,
)
from roleplay_common.logging import configure_logging, get_logger
from roleplay_common.secrets_policy import InsecureSettingsError, refuse_weak_secrets
from roleplay_common.service_auth import (
    ServiceTokenGuard,
    internal_service_guards,
    public_service_guards,
)
from roleplay_common.settings import ServiceSettings
from roleplay_common.storage import ObjectStorage
from roleplay_common.tracing import configure_tracing, flush_tracing, trace_http_server

log = get_logger(__name__)

Hook = Callable[["Runtime"], Awaitable[None]]


@dataclass
class Runtime:
    """The connections of one service process, shared by its handlers and routes."""

    name: str
    schema: str
    settings: ServiceSettings
    db: Database
    broker: KafkaBroker
    topics: Topics
    storage: ObjectStorage
    relay: OutboxRelay
    background: list[asyncio.Task[Any]] = field(default_factory=list)

    @classmethod
    def create(cls, name: str, schema: str, settings: ServiceSettings) -> Runtime:
        db = Database(settings.database, schema=schema, application_name=name)
        broker = make_broker(settings.kafka, client_id=name)
        return cls(
            name=name,
            schema=schema,
            settings=settings,
            db=db,
            broker=broker,
            topics=Topics(settings.kafka.topic_prefix),
            storage=ObjectStorage(settings.storage),
            relay=OutboxRelay(
                db, broker, poll_interval=max(settings.outbox_poll_interval_ms, 50) / 1000
            ),
        )

    def envelope(
        self, payload: Event, *, causation: EventEnvelope | None = None, **kw: Any
    ) -> EventEnvelope:
        return EventEnvelope.wrap(payload, producer=self.name, causation=causation, **kw)

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        """Run a background loop for the life of the process (cancelled on shutdown)."""

        async def run() -> Any:
            return await coro

        task = asyncio.create_task(run(), name=name)
        self.background.append(task)
        return task


def add_diagnostics(router: EventRouter, runtime: Runtime) -> None:
    """Every service answers `system.ping` once per ping event, through its outbox."""

    @router.handles(Ping, consumer="diagnostics")
    async def answer_ping(ping: Ping, envelope: EventEnvelope) -> None:
        async with runtime.db.transaction() as session:
            if not await claim_event(session, runtime.schema, envelope, consumer="diagnostics"):
                return
            pong = Pong(
                probe_id=ping.probe_id, service=runtime.name, ping_event_id=str(envelope.id)
            )
            await add_to_outbox(
                session, runtime.schema, runtime.topics, runtime.envelope(pong, causation=envelope)
            )


STOP_STEP_SECONDS = 20.0
"""How long one step of a stop may take (a hook, the broker, ...) before the stop goes on."""


async def _bounded(step: str, work: Awaitable[Any]) -> None:
    try:
        await asyncio.wait_for(work, STOP_STEP_SECONDS)
    except TimeoutError:
        log.warning("stop step timed out; going on", step=step, seconds=STOP_STEP_SECONDS)
    except Exception:
        log.exception("stop step failed; going on", step=step)


async def stop_service(runtime: Runtime, on_shutdown: Sequence[Hook]) -> None:
    """Stop in the order that loses nothing and always ends: consumers first (no new work;
    handlers in flight get the broker's graceful timeout), then the service's own hooks, the
    background loops, the outbox relay, the broker and the database. Every step is bounded,
    and the last ones run even when the stop itself is cancelled."""
    try:
        await _bounded(
            "consumers",
            asyncio.gather(
                *(subscriber.stop() for subscriber in runtime.broker.subscribers),
                return_exceptions=True,
            ),
        )
        for hook in on_shutdown:
            await _bounded(getattr(hook, "__name__", "hook"), hook(runtime))
    finally:
        for task in runtime.background:
            task.cancel()
        await _bounded("background", asyncio.gather(*runtime.background, return_exceptions=True))
        await _bounded("outbox relay", runtime.relay.stop())
        await _bounded("broker", runtime.broker.stop())
        await _bounded("database", runtime.db.dispose())
        await _bounded("traces", asyncio.to_thread(flush_tracing))
        log.info("service stopped")


class Readiness(BaseModel):
    status: str = Field(description="`ok`, or `unavailable` (with status 503).")
    checks: dict[str, str] = Field(description="`ok` or why it failed, per connection.")


READINESS = {"model": Readiness, "description": "Ready, or (503) which connection failed."}


def create_service_app(
    runtime: Runtime,
    *,
    router: EventRouter,
    migrations: Path,
    title: str,
    description: str,
    api: Sequence[APIRouter] = (),
    publishes: Sequence[type[Event]] = (),
    consumes: Sequence[type[Event]] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    public: bool = False,
) -> FastAPI:
    """`public`: the service's own routes face clients (the gateway); otherwise they are an
    internal API that only other services call."""
    settings = runtime.settings
    refuse_weak_secrets(runtime.name, settings.secrets())
    configure_tracing(runtime.name, settings.tracing)
    add_diagnostics(router, runtime)
    router.attach(
        runtime.broker,
        runtime.topics,
        partitions=settings.kafka.partitions,
        retries=settings.consumer_retries,
    )
    # Topics to create on start: the router's, what this service publishes, and what its
    # batch consumers (attached outside the router) read.
    published: list[type[Event]] = [*publishes, *consumes, Pong]
    asyncapi = AsyncAPI(runtime.broker, title=f"{title} events", description=description)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        configure_logging(runtime.name, settings.log_level, settings.log_json)
        if settings.migrate_on_start:
            await asyncio.to_thread(upgrade_to_head, runtime.db.url, migrations)
        await runtime.storage.ensure_buckets()
        await ensure_topics(
            settings.kafka,
            [*router.topics(runtime.topics), *(runtime.topics.name(e) for e in published)],
        )
        await runtime.broker.start()
        await runtime.relay.start()
        for hook in on_startup:
            await hook(runtime)
        log.info("service started", host=settings.host, port=settings.port)
        try:
            yield
        finally:
            await stop_service(runtime, on_shutdown)

    app = FastAPI(title=title, description=description, lifespan=lifespan)
    app.state.runtime = runtime
    app.add_middleware(
        ServiceTokenGuard,
        settings=settings.service_auth,
        guards=public_service_guards if public else internal_service_guards,
    )
    app.add_middleware(CorrelationMiddleware)
    install_error_handlers(app)
    trace_http_server(app)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=Readiness, responses={503: READINESS})
    async def readyz() -> JSONResponse:
        checks = await readiness(runtime)
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
            headers={} if ok else {"Retry-After": "5"},
        )

    needs_token: dict[int | str, dict[str, Any]] = {
        401: {"model": ErrorResponse, "description": "Without the service token."}
    }

    @app.get(
        "/metrics",
        tags=["ops"],
        response_model=None,
        responses={
            200: {
                "description": "Prometheus metrics, as text.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            **needs_token,
        },
    )
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get(
        "/asyncapi",
        tags=["ops"],
        response_model=None,
        responses={
            200: {
                "description": "The AsyncAPI document; a page showing it for `Accept: text/html`.",
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            },
            **needs_token,
        },
    )
    async def asyncapi_doc(request: Request) -> Response:
        spec = asyncapi.to_specification()
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(get_asyncapi_html(spec))
        return Response(spec.to_json(), media_type="application/json")

    for r in api:
        app.include_router(r)
    return app


async def readiness(runtime: Runtime) -> dict[str, str]:
    async def check(name: str, probe: Callable[[], Awaitable[Any]]) -> tuple[str, str]:
        try:
            result = await asyncio.wait_for(probe(), timeout=3.0)
        except Exception as exc:
            return name, f"failed: {type(exc).__name__}"
        if result is False:
            return name, "failed: not connected"
        return name, "ok"

    results = await asyncio.gather(
        check("broker", lambda: runtime.broker.ping(timeout=2.0)),
        check("database", runtime.db.ping),
        check("storage", runtime.storage.ping),
    )
    return dict(results)


def run_service(app_factory: str, settings: ServiceSettings) -> None:
    """Entry point of `python -m roleplay_<service>`."""
    import sys

    import uvicorn

    try:
        refuse_weak_secrets(app_factory.split(".")[0], settings.secrets())
    except InsecureSettingsError as exc:
        sys.exit(str(exc))
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
    )
