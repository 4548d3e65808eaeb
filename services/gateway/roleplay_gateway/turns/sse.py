"""Server-Sent Events framing of a turn's stream, with keep-alives."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from roleplay_common.trace_context import continuing_span
from roleplay_gateway.turns.stream_hub import StreamEvent, TurnLog, TurnStreamHub

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def frame(event: StreamEvent) -> str:
    data = json.dumps(event.data, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event.seq}\nevent: {event.name}\ndata: {data}\n\n"


async def _frames(
    hub: TurnStreamHub, turn: TurnLog, after: int, keepalive: float
) -> AsyncIterator[str]:
    # One span for the whole response, in the turn's trace; none per event.
    span = continuing_span(
        "turn.stream",
        turn.traceparent,
        attributes={"roleplay.turn_id": str(turn.turn_id), "roleplay.stream.after": after},
    )
    sent, last = 0, after
    try:
        yield "retry: 2000\n\n"
        async for batch in hub.batches(turn, after=after, keepalive=keepalive):
            # Events ready together go out in one write.
            yield "".join(frame(event) for event in batch) if batch else ": keep-alive\n\n"
            if batch:
                sent, last = sent + len(batch), batch[-1].seq
    finally:
        span.set_attributes({"roleplay.stream.events": sent, "roleplay.stream.last_seq": last})
        span.end()


def turn_stream_response(
    hub: TurnStreamHub, turn: TurnLog, *, after: int, keepalive: float = 15.0
) -> StreamingResponse:
    return StreamingResponse(
        _frames(hub, turn, after, keepalive), media_type="text/event-stream", headers=SSE_HEADERS
    )
