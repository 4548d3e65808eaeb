"""`GET /v1/conversations/{id}/events`: one resumable SSE stream of what the screen shows.

Ids are the feed's sequence numbers; `Last-Event-ID` (or `?after=`) resumes after one, so a
client that reconnects — to any instance — gets every event it missed, in order, none twice.
Image URLs are signed when sent, so a replayed event still carries a working link. A database
that stops answering mid-stream does not end the stream: it waits (with keep-alives) and
carries on from where it was once the database is back.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from roleplay_common.logging import get_logger
from roleplay_common.outages import outage_of
from roleplay_common.service import Runtime
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.conversations.endpoints import ChatDep
from roleplay_gateway.deps import RuntimeDep
from roleplay_gateway.feed.notifier import FeedNotifier
from roleplay_gateway.feed.schemas import FEED_EVENTS
from roleplay_gateway.feed.store import read_after
from roleplay_gateway.openapi_document import event_stream
from roleplay_gateway.sse_resume import MAX_EVENT_ID, resume_after
from roleplay_gateway.turns.sse import SSE_HEADERS

log = get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["conversations"])
KEEPALIVE_SECONDS = 15.0
OUTAGE_RETRY_SECONDS = 2.0


async def _signed(runtime: Runtime, data: dict[str, Any]) -> dict[str, Any]:
    image = data.get("image")
    if not isinstance(image, dict):
        return data
    out = {k: v for k, v in data.items() if k != "image"}
    out["image_url"] = await runtime.storage.signed_url(image["bucket"], image["key"])
    out["thumbnail_url"] = await runtime.storage.signed_url(image["bucket"], image["thumbnail_key"])
    return out


async def _frames(
    runtime: Runtime, notifier: FeedNotifier, conversation_id: uuid.UUID, after: int
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    position = after
    wake = notifier.subscribe(conversation_id)
    try:
        while True:
            wake.clear()
            try:
                async with runtime.db.transaction() as session:
                    rows = await read_after(session, conversation_id, position)
            except Exception as exc:
                if outage_of(exc) is None:
                    raise
                log.warning("feed waits for the database", error=type(exc).__name__)
                yield ": waiting for the database\n\n"
                await asyncio.sleep(OUTAGE_RETRY_SECONDS)
                continue
            for row in rows:
                data = json.dumps(await _signed(runtime, row.data), separators=(",", ":"))
                yield f"id: {row.seq}\nevent: {row.name}\ndata: {data}\n\n"
                position = row.seq
            if rows:
                continue
            try:
                await asyncio.wait_for(wake.wait(), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
    finally:
        notifier.unsubscribe(conversation_id, wake)


@router.get(
    "/conversations/{conversation_id}/events",
    response_class=StreamingResponse,
    responses={
        200: event_stream(
            "The conversation's events as Server-Sent Events, `: keep-alive` comments every "
            "15 s; the SSE id is the feed's sequence number.",
            FEED_EVENTS,
        )
    },
)
async def conversation_events(
    conversation_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    runtime: RuntimeDep,
    chat: ChatDep,
    after: Annotated[int | None, Query(ge=0, le=MAX_EVENT_ID)] = None,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """Messages, turns, scene progress and results, library saves — live and resumable."""
    await chat.call("GET", f"/internal/conversations/{conversation_id}", user_id=user.id)
    position = resume_after(last_event_id, after, floor=0)
    notifier: FeedNotifier = request.app.state.feed_notifier
    return StreamingResponse(
        _frames(runtime, notifier, conversation_id, position),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )
