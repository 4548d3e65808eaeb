"""The trace context of events and of work that outlives a request.

`current_traceparent` is what `EventEnvelope.wrap` stores; `consumer_span` and `batch_span`
continue it where an event is handled; `parent_for` and `continuing_span` continue it for
work picked up later (a takeover, a stream read again). The tracers come from
`roleplay_common.tracing`, so all of this is a no-op while tracing is off.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.util import types

from roleplay_common.tracing import tracer


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, None outside any."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


def span_context_of(traceparent: str | None) -> SpanContext:
    """The remote span a W3C `traceparent` names; the invalid one for anything else."""
    found = _TRACEPARENT.fullmatch(traceparent) if traceparent else None
    if found is None:
        return INVALID_SPAN_CONTEXT
    version, trace_id, span_id, flags, rest = found.groups()
    if version == "ff" or (version == "00" and rest) or not int(trace_id, 16):
        return INVALID_SPAN_CONTEXT
    if not int(span_id, 16):
        return INVALID_SPAN_CONTEXT
    return SpanContext(
        int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(int(flags, 16))
    )


def context_of(traceparent: str | None) -> Context | None:
    """The context a `traceparent` names, as a parent for `start_span(context=...)`."""
    span_context = span_context_of(traceparent)
    if not span_context.is_valid:
        return None
    return trace.set_span_in_context(NonRecordingSpan(span_context), Context())


def parent_for(traceparent: str | None) -> Context | None:
    """Go on under the current span when there is one; otherwise continue `traceparent`
    (work picked up outside a consumer span: a takeover, a sweeper)."""
    if trace.get_current_span().get_span_context().is_valid:
        return None
    return context_of(traceparent)


def continuing_span(
    name: str, traceparent: str | None, *, attributes: types.Attributes = None
) -> Span:
    """A started span (the caller ends it) in the trace `traceparent` names: under the
    current span when that is in the same trace, else a child of `traceparent` linked to
    the current span (a client that came back for work another request started)."""
    current = trace.get_current_span().get_span_context()
    named = span_context_of(traceparent)
    parent: Context | None = None
    links: list[Link] = []
    if named.is_valid and named.trace_id != current.trace_id:
        parent = context_of(traceparent)
        links = [Link(current)] if current.is_valid else []
    return tracer("roleplay.streams").start_span(
        name, context=parent, links=links, attributes=attributes
    )


def consumer_span(
    name: str,
    *,
    traceparent: str | None,
    attributes: types.Attributes = None,
) -> contextlib.AbstractContextManager[Span]:
    """The span of handling one event, a child of the context the event was made in."""
    return tracer("roleplay.events").start_as_current_span(
        name, context=context_of(traceparent), kind=SpanKind.CONSUMER, attributes=attributes
    )


def batch_span(
    name: str,
    traceparents: Sequence[str | None],
    *,
    attributes: types.Attributes = None,
) -> contextlib.AbstractContextManager[Span]:
    """The span of handling a batch of events in one go. Events of one trace: a child in
    it; of several: a span of its own, linked to each (OpenTelemetry's batch receive)."""
    contexts = [span_context_of(t) for t in dict.fromkeys(traceparents)]
    valid = [c for c in contexts if c.is_valid]
    parent: Context | None = None
    links: list[Link] = []
    if valid and len({c.trace_id for c in valid}) == 1:
        parent = trace.set_span_in_context(NonRecordingSpan(valid[0]), Context())
    else:
        parent = Context()
        links = [Link(c) for c in valid[:128]]
    return tracer("roleplay.events").start_as_current_span(
        name, context=parent, kind=SpanKind.CONSUMER, links=links, attributes=attributes
    )


def mark_failed(description: str) -> None:
    """Mark the current span failed (work given up on, without an exception escaping)."""
    trace.get_current_span().set_status(Status(StatusCode.ERROR, description))


def event_attributes(
    *, topic: str, group: str, event_id: str, event_type: str, correlation_id: str
) -> dict[str, str]:
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.consumer.group.name": group,
        "messaging.message.id": event_id,
        "roleplay.event.type": event_type,
        "roleplay.correlation_id": correlation_id,
    }
