"""OpenTelemetry traces across the services, off unless `ROLEPLAY_OTEL_ENABLED=true`.

One trace follows a piece of work from the HTTP request that started it through every event
it caused: the W3C `traceparent` of the span that was current when an envelope was made is
stored in the envelope (`EventEnvelope.wrap`, so an outbox row keeps the context of the
transaction that wrote it, not of the relay that publishes it later) and in its Kafka
headers; a consumer's span is a child of it (`roleplay_common.trace_context`).

Everything here draws its tracers from one switchable provider: a no-op until
`configure_tracing` installs an SDK provider (a `BatchSpanProcessor` with the OTLP/HTTP
exporter, which reads the standard `OTEL_EXPORTER_OTLP_*` variables), or a test installs
one for its own duration (`traced_by`). Disabled, HTTP requests bypass the instrumentation,
a span costs a call that returns the no-op span, and an event's `traceparent` still passes
through a consumer unchanged (to the events it causes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Tracer, TracerProvider
from opentelemetry.util import types

from roleplay_common.settings import TracingSettings

if TYPE_CHECKING:
    import aiohttp
    import httpx
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

_NOT_TRACED_PATHS = "/healthz,/readyz,/metrics"


class _SwitchableTracer(Tracer):
    """A tracer that asks the switch's current provider, so instrumentation wired once at
    start follows a provider installed later (or swapped by a test)."""

    def __init__(self, switch: _SwitchableTracerProvider, *args: Any) -> None:
        self._switch = switch
        self._args = args
        self._generation = -1
        self._tracer: Tracer = trace.NoOpTracer()

    def _current(self) -> Tracer:
        if self._generation != self._switch.generation:
            self._tracer = self._switch.target.get_tracer(*self._args)
            self._generation = self._switch.generation
        return self._tracer

    def start_span(self, *args: Any, **kwargs: Any) -> Span:
        return self._current().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._current().start_as_current_span(*args, **kwargs)


class _SwitchableTracerProvider(TracerProvider):
    def __init__(self) -> None:
        self.target: TracerProvider = trace.NoOpTracerProvider()
        self.generation = 0
        self.recording = False
        self.configured_by: str | None = None

    def use(self, provider: TracerProvider) -> None:
        self.target = provider
        self.generation += 1
        self.recording = not isinstance(provider, trace.NoOpTracerProvider)

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> Tracer:
        return _SwitchableTracer(
            self, instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )


_SWITCH = _SwitchableTracerProvider()


def tracer_provider() -> TracerProvider:
    """The provider every instrumentation here is given."""
    return _SWITCH


def tracer(name: str) -> Tracer:
    return _SWITCH.get_tracer(name)


def configure_tracing(service: str, settings: TracingSettings) -> None:
    """Install the exporting provider when tracing is enabled; once per process (services
    run in one process in the end-to-end tests: the first one's provider is kept)."""
    if not settings.enabled or _SWITCH.configured_by is not None:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SdkTracerProvider(
        resource=Resource.create({"service.name": service}),
        sampler=sampler(settings.sample_ratio),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _SWITCH.use(provider)
    _SWITCH.configured_by = service
    if settings.database_spans:
        trace_database()


def flush_tracing(timeout_seconds: float = 5.0) -> None:
    """Export what is buffered (a stopping service), waiting at most `timeout_seconds` for
    a collector that does not answer."""
    flush = getattr(_SWITCH.target, "force_flush", None)
    if flush is not None:
        flush(timeout_millis=int(timeout_seconds * 1000))


def sampler(ratio: float = 1.0) -> Any:
    """Parent-based: a span joins its parent's decision. A new trace is kept at `ratio`,
    except one a lone SQL statement would start (outbox polls, sweepers): those are noise."""
    from opentelemetry.sdk.trace.sampling import (
        Decision,
        ParentBased,
        Sampler,
        SamplingResult,
        TraceIdRatioBased,
    )

    ratio_sampler = TraceIdRatioBased(ratio)

    class NoLoneStatements(Sampler):
        def should_sample(
            self,
            parent_context: Context | None,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: types.Attributes = None,
            links: Sequence[Link] | None = None,
            trace_state: Any = None,
        ) -> SamplingResult:
            if attributes and "db.system" in attributes:
                return SamplingResult(Decision.DROP)
            return ratio_sampler.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"NoLoneStatements({ratio_sampler.get_description()})"

    return ParentBased(root=NoLoneStatements())


@contextlib.contextmanager
def traced_by(provider: TracerProvider) -> Iterator[None]:
    """Send every span to `provider` for the duration (tests), then restore the previous."""
    previous = _SWITCH.target
    _SWITCH.use(provider)
    try:
        yield
    finally:
        _SWITCH.use(previous)


# -- wiring ----------------------------------------------------------------------------------


def trace_http_server(app: FastAPI) -> None:
    """A server span per request (health and metrics routes aside), continuing a caller's
    `traceparent`; no span per body chunk, so a long SSE response is one span. While no
    provider records, requests bypass the instrumentation: it costs nothing when off."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.metrics import NoOpMeterProvider

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_SWITCH,
        meter_provider=NoOpMeterProvider(),
        excluded_urls=_NOT_TRACED_PATHS,
        exclude_spans=["receive", "send"],
    )
    traced_build = app.build_middleware_stack

    def build_gated() -> ASGIApp:
        # The instrumented stack is error middleware -> OpenTelemetryMiddleware -> the app's
        # own stack; the gate skips the first two while tracing is off.
        traced = traced_build()
        otel = getattr(traced, "app", None)
        if not isinstance(otel, OpenTelemetryMiddleware):
            return traced
        plain: ASGIApp = otel.app

        async def gate(scope: Scope, receive: Receive, send: Send) -> None:
            await (traced if _SWITCH.recording else plain)(scope, receive, send)

        return gate

    app.build_middleware_stack = build_gated  # type: ignore[method-assign]


def aiohttp_trace_configs() -> list[aiohttp.TraceConfig]:
    """For `aiohttp.ClientSession(trace_configs=...)`: a client span per request, and the
    `traceparent` header sent along."""
    from opentelemetry.instrumentation.aiohttp_client import create_trace_config
    from opentelemetry.metrics import NoOpMeterProvider

    return [create_trace_config(tracer_provider=_SWITCH, meter_provider=NoOpMeterProvider())]


def trace_httpx(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client span per request of `client`, and the `traceparent` header sent along."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.metrics import NoOpMeterProvider

    HTTPXClientInstrumentor.instrument_client(
        client, tracer_provider=_SWITCH, meter_provider=NoOpMeterProvider()
    )
    return client


def trace_database() -> None:
    """A span per asyncpg statement (process-wide; only when tracing is on)."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=_SWITCH)
