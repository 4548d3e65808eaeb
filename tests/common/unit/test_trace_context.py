"""Reading `traceparent`s, and where a batch's span goes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from roleplay_common.trace_context import batch_span, span_context_of
from roleplay_common.tracing import traced_by

ONE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
SAME_TRACE = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
OTHER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with traced_by(provider):
        yield exporter


def test_a_traceparent_is_read_exactly_or_not_at_all() -> None:
    context = span_context_of(ONE)
    assert context.is_valid and context.is_remote
    assert (context.trace_id, context.span_id) == (
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
    )
    for bad in (
        None,
        "",
        "garbage",
        ONE.upper(),
        ONE + "-extra",  # version 00 has exactly four fields
        "ff" + ONE[2:],
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-0x f7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ):
        assert not span_context_of(bad).is_valid, bad
    assert span_context_of("01" + ONE[2:] + "-future").is_valid


def test_a_batch_of_one_trace_continues_it_and_a_mixed_one_links_each(
    spans: InMemorySpanExporter,
) -> None:
    with batch_span("one trace", [ONE, SAME_TRACE, None]):
        pass
    with batch_span("mixed", [ONE, OTHER, ONE]):
        pass
    one, mixed = spans.get_finished_spans()
    assert one.parent is not None and one.context is not None
    assert one.context.trace_id == span_context_of(ONE).trace_id and not one.links
    assert mixed.parent is None
    assert {link.context.trace_id for link in mixed.links} == {
        span_context_of(ONE).trace_id,
        span_context_of(OTHER).trace_id,
    }
    assert len(mixed.links) == 2


async def test_http_requests_are_traced_only_while_a_provider_records() -> None:
    """The instrumented app is built once; swapping the provider in and out afterwards
    turns its server spans on and off (tracing off, requests bypass the instrumentation)."""
    import httpx
    from fastapi import FastAPI

    from roleplay_common.tracing import trace_http_server

    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    trace_http_server(app)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/things/1")).json() == {"id": "1"}  # off: built, no span
        with traced_by(provider):
            response = await client.get("/things/2", headers={"traceparent": ONE})
            assert response.json() == {"id": "2"}
            assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/things/3")).status_code == 200
    (server,) = exporter.get_finished_spans()
    assert server.attributes is not None and server.attributes["http.route"] == "/things/{thing_id}"
    assert server.parent is not None and server.parent.span_id == span_context_of(ONE).span_id


def test_a_lone_sql_statement_starts_no_trace_but_one_inside_traced_work_is_kept() -> None:
    from opentelemetry.trace import SpanKind

    from roleplay_common.tracing import sampler

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    statement = {"db.system": "postgresql", "db.statement": "SELECT 1"}
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("outbox poll", kind=SpanKind.CLIENT, attributes=statement):
        pass
    with (
        tracer.start_as_current_span("a request"),
        tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT, attributes=statement),
    ):
        pass
    assert [s.name for s in exporter.get_finished_spans()] == ["SELECT", "a request"]
