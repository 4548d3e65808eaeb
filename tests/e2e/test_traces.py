"""One trace per piece of work, across the services: a turn from the HTTP request through
Kafka, the chat consumer, the provider call and back to the SSE response; a scene job
likewise; usage in both.

The services of the e2e stack share this process, so one tracer provider, swapped in for
each test and restored after it (`traced_by`), sees every span they make.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from roleplay_common.tracing import sampler, traced_by
from tests.e2e.conftest import Stack, User
from tests.e2e.test_chat_turns import SSE, send_streaming, start_conversation
from tests.e2e.test_scenes import request_scene, wait_job
from tests.support.sse import collect


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with traced_by(provider):
        yield exporter
    provider.shutdown()


def attr(span: ReadableSpan, *names: str) -> Any:
    """The first of `names` the span has (instrumentations name some attributes two ways)."""
    attributes = span.attributes or {}
    return next((attributes[n] for n in names if n in attributes), None)


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def trace_of(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


async def wait_for_span(
    exporter: InMemorySpanExporter, matches: Callable[[ReadableSpan], bool], timeout: float = 15
) -> ReadableSpan:
    """Spans are exported as they end; work after the response (usage, the feed) ends later."""
    async with asyncio.timeout(timeout):
        while True:
            found = [s for s in exporter.get_finished_spans() if matches(s)]
            if found:
                return found[0]
            await asyncio.sleep(0.05)


def server_span(route: str, method: str = "POST") -> Callable[[ReadableSpan], bool]:
    return lambda s: (
        s.kind == SpanKind.SERVER
        and attr(s, "http.route") == route
        and attr(s, "http.request.method", "http.method") == method
    )


def assert_one_tree(spans: list[ReadableSpan], root: ReadableSpan) -> None:
    """Every span of the trace hangs, through spans that were exported, from `root`."""
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    for span in spans:
        node = span
        while node.parent is not None and node.parent.span_id in by_id:
            node = by_id[node.parent.span_id]
        assert node is root, f"{span.name} does not descend from {root.name} (stops at {node.name})"


async def test_one_trace_follows_a_turn_from_the_request_to_the_last_sse_event(
    stack: Stack, new_user: Any, spans: InMemorySpanExporter
) -> None:
    await stack.standin_config(output_tokens=20)
    user: User = await new_user()
    conversation = await start_conversation(user)
    seen = await send_streaming(user, conversation["id"], "Hello there")
    assert seen[-1].name == "turn.completed"
    turn_id = seen[0].data["turn_id"]

    request = await wait_for_span(
        spans, server_span("/v1/conversations/{conversation_id}/messages")
    )
    trace_id = trace_of(request)
    usage = await wait_for_span(
        spans,
        lambda s: attr(s, "roleplay.event.type") == "usage.recorded" and trace_of(s) == trace_id,
    )
    completed_in_feed = await wait_for_span(
        spans,
        lambda s: (
            s.kind == SpanKind.CONSUMER
            and attr(s, "roleplay.event.type") == "chat.turn.completed"
            and trace_of(s) == trace_id
        ),
    )
    finished = spans.get_finished_spans()
    in_trace = [s for s in finished if trace_of(s) == trace_id]
    names = {s.name for s in in_trace}

    # The command crossed Kafka: the chat consumer's span is in the request's trace ...
    accept = next(s for s in in_trace if s.name == "chat.turn.accept")
    assert accept.kind == SpanKind.CONSUMER and attr(accept, "roleplay.turn_id") == turn_id
    assert {"chat.turn.run", "chat.reply.stream", "turn.stream"} <= names
    # ... and so is the provider call, whose request carried the trace on to the provider.
    provider_calls = [
        s
        for s in in_trace
        if s.kind == SpanKind.CLIENT
        and str(attr(s, "url.full", "http.url")).endswith("/chat/completions")
    ]
    assert provider_calls, names
    requests = [r for r in await stack.standin_requests() if r["family"] == "chat"]
    assert f"{trace_id:032x}" in requests[-1]["headers"]["traceparent"]
    # The internal call the gateway made to start the turn, on both sides.
    internal = [
        s
        for s in in_trace
        if "/internal/conversations/" in str(attr(s, "http.route", "url.full", "http.url"))
    ]
    assert {s.kind for s in internal} == {SpanKind.CLIENT, SpanKind.SERVER}

    # The SSE span saw every event; one span for the stream, none per delta.
    stream = next(s for s in in_trace if s.name == "turn.stream")
    assert attr(stream, "roleplay.stream.events") == len(seen)
    assert len([s for s in finished if s.name == "turn.stream"]) == 1
    assert usage.kind == SpanKind.CONSUMER and completed_in_feed in in_trace

    # Nothing of the turn went to another trace, and the trace is one connected tree.
    correlation = attr(accept, "roleplay.correlation_id")
    of_turn = [s for s in finished if attr(s, "roleplay.correlation_id") == correlation]
    assert of_turn and {trace_of(s) for s in of_turn} == {trace_id}
    assert_one_tree(in_trace, request)


async def test_a_stream_read_again_later_continues_the_turns_trace(
    stack: Stack, new_user: Any, spans: InMemorySpanExporter
) -> None:
    user: User = await new_user()
    conversation = await start_conversation(user)
    seen = await send_streaming(user, conversation["id"], "Once more")
    turn_id = seen[0].data["turn_id"]
    request = await wait_for_span(
        spans, server_span("/v1/conversations/{conversation_id}/messages")
    )

    async with user.client.stream("GET", f"/v1/turns/{turn_id}/stream", headers=SSE) as response:
        again = await collect(response)
    assert [e.id for e in again] == [e.id for e in seen]

    read_again = await wait_for_span(spans, server_span("/v1/turns/{turn_id}/stream", "GET"))
    streams = [
        s
        for s in spans.get_finished_spans()
        if s.name == "turn.stream" and attr(s, "roleplay.turn_id") == turn_id
    ]
    assert len(streams) == 2 and {trace_of(s) for s in streams} == {trace_of(request)}
    # The first stream ran inside its request's trace; the second, a request of its own,
    # continues the turn's trace and links to that request.
    linked = [[link.context.span_id for link in s.links] for s in streams]
    assert sorted(linked, key=len) == [[], [span_id(read_again)]]


async def test_one_trace_follows_a_scene_job(
    stack: Stack, new_user: Any, spans: InMemorySpanExporter
) -> None:
    await stack.standin_config(image_job_ms=50)
    user: User = await new_user()
    conversation = await start_conversation(user)
    job = await request_scene(user, conversation["id"], mode="t2i", prompt="a lighthouse at dusk")
    assert (await wait_job(user, job["job_id"]))["status"] == "completed"

    request = await wait_for_span(spans, server_span("/v1/conversations/{conversation_id}/scenes"))
    trace_id = trace_of(request)
    await wait_for_span(
        spans,
        lambda s: (
            attr(s, "roleplay.event.type") == "scenes.job.completed"
            and s.kind == SpanKind.CONSUMER
            and trace_of(s) == trace_id
        ),
    )
    usage = await wait_for_span(
        spans,
        lambda s: (
            attr(s, "roleplay.event.type") == "usage.recorded"
            and (
                trace_of(s) == trace_id
                or any(link.context.trace_id == trace_id for link in s.links)
            )
        ),
    )
    in_trace = [s for s in spans.get_finished_spans() if trace_of(s) == trace_id]
    consumed = next(s for s in in_trace if attr(s, "roleplay.event.type") == "scenes.job.requested")
    assert consumed.kind == SpanKind.CONSUMER
    run = next(s for s in in_trace if s.name == "scenes.job.run")
    assert attr(run, "roleplay.job_id") == job["job_id"]
    provider_calls = [
        s
        for s in in_trace
        if s.kind == SpanKind.CLIENT and "/fal/" in str(attr(s, "url.full", "http.url"))
    ]
    assert provider_calls
    assert usage is not None
    assert_one_tree(in_trace, request)
