"""`POST /internal/impersonate`: a suggested next user message, streamed and stored nowhere.

The gateway sends a turn command of kind `impersonate` (the persona, character, settings and
routes as for a turn). The prompt is the turn's own (history as a continue reads it) with the
instruction to write the persona's next message; the provider is streamed with the same
retries and fallback, and the answer is Server-Sent Events in the turn stream's shapes
(`turn.started`, `delta`, then `turn.completed` with the unsaved message or `turn.failed`).
Nothing but the provider calls' usage (`usage.recorded`, through the outbox) is written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from roleplay_chat.domain.prompt import HistoryMessage, Memory, plan_prompt
from roleplay_chat.memory_store import conversation_memory
from roleplay_chat.providers.openai_compatible import StreamEvent
from roleplay_chat.routing import RoutedReply, TurnFailedError, stream_with_fallback
from roleplay_chat.store import get_conversation, recent_history
from roleplay_chat.turns import TurnRunner
from roleplay_common.events import EventEnvelope, ModelRoute, RequestChatTurn
from roleplay_common.http import ApiError, not_found
from roleplay_common.logging import get_logger

log = get_logger(__name__)

router = APIRouter(prefix="/internal", tags=["internal"])

KEEPALIVE_SECONDS = 15.0
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _frame(seq: int, name: str, data: dict[str, Any]) -> str:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"id: {seq}\nevent: {name}\ndata: {body}\n\n"


@router.post("/impersonate", response_class=StreamingResponse)
async def impersonate(command: RequestChatTurn, request: Request) -> StreamingResponse:
    runner: TurnRunner = request.app.state.turns
    if command.kind != "impersonate":
        raise ApiError(422, "invalid_kind", "the command's kind must be `impersonate`")
    if not command.routes:
        raise ApiError(503, "no_model_available", "no model is available")
    async with runner.runtime.db.reading() as session:
        conversation = await get_conversation(session, command.conversation_id)
        if conversation is None or conversation.user_id != command.user_id:
            raise not_found("conversation")
        recent = await recent_history(
            session, command.conversation_id, limit=runner.settings.history_limit
        )
        memory = await conversation_memory(session, conversation)
    history = [HistoryMessage(sender, content) for sender, content in recent.messages]
    return StreamingResponse(
        _stream(runner, command, history, memory, recent.total),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


async def _stream(
    runner: TurnRunner,
    command: RequestChatTurn,
    history: list[HistoryMessage],
    memory: Memory,
    message_count: int,
) -> AsyncIterator[str]:
    turn_id = str(command.turn_id)
    yield _frame(
        0,
        "turn.started",
        {
            "turn_id": turn_id,
            "conversation_id": str(command.conversation_id),
            "user_message_id": None,
            "kind": "impersonate",
        },
    )
    plan = plan_prompt(command, history, memory=memory, message_count=message_count)
    estimated_in: dict[str, int] = {}
    pieces: asyncio.Queue[str] = asyncio.Queue()

    def stream(route: ModelRoute) -> AsyncIterator[StreamEvent]:
        return runner.stream_plan(command, plan, route, estimated_in)

    async def on_text(text: str) -> None:
        await pieces.put(text)

    generation = asyncio.create_task(
        stream_with_fallback(
            command.routes,
            stream,
            on_text,
            health=runner.health,
            retries=runner.settings.provider_retries,
            backoff=runner.settings.provider_backoff_seconds,
        )
    )
    seq = 0
    try:
        while not (generation.done() and pieces.empty()):
            if not pieces.empty():
                text = pieces.get_nowait()
            else:
                getter = asyncio.ensure_future(pieces.get())
                done, _ = await asyncio.wait(
                    {getter, generation}, timeout=KEEPALIVE_SECONDS, return_when="FIRST_COMPLETED"
                )
                if not getter.done():
                    getter.cancel()  # the item, if any, stays queued
                    if not done:
                        yield ": keep-alive\n\n"
                    continue
                text = getter.result()
            seq += 1
            yield _frame(seq, "delta", {"turn_id": turn_id, "seq": seq, "text": text})
        reply: RoutedReply = generation.result()
    except TurnFailedError as failure:
        await _account(runner, command, failure.attempts, estimated_in)
        yield _frame(
            seq + 1,
            "turn.failed",
            {"turn_id": turn_id, "error": {"code": failure.code, "message": failure.message}},
        )
        return
    finally:
        if not generation.done():
            generation.cancel()
    await _account(runner, command, reply.attempts, estimated_in)
    now = datetime.now(UTC).isoformat()
    yield _frame(
        seq + 1,
        "turn.completed",
        {
            "turn_id": turn_id,
            "message": {
                "id": None,
                "conversation_id": str(command.conversation_id),
                "sender": "user",
                "content": reply.text,
                "message_type": "impersonation",
                "created_at": now,
                "updated_at": now,
                "stored": False,
            },
            "usage": {"provider": reply.route.provider, "model": reply.route.model_key},
        },
    )


async def _account(
    runner: TurnRunner,
    command: RequestChatTurn,
    attempts: list[Any],
    estimated_in: dict[str, int],
) -> None:
    """Count every provider call (the suggestion itself is kept nowhere)."""
    try:
        envelope = EventEnvelope.wrap(command, producer=runner.runtime.name)
        async with runner.runtime.db.transaction() as session:
            await runner.record_usage(session, command, envelope, attempts, estimated_in)
    except Exception:
        log.exception("could not record an impersonation's usage")
