"""`POST /v1/conversations/{id}/impersonate`: a suggested next message in the persona's voice.

The command is built as a turn's (`turn_command`, kind `impersonate`: the persona, character,
settings and routes as they are now) and sent to the chat service, whose answer streams back
as it arrives, in the turn stream's event shapes. Nothing is stored and nothing is published;
the stream is not resumable (a dropped one is simply asked for again).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from roleplay_common.logging import get_logger
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.conversations.endpoints import ChatDep
from roleplay_gateway.deps import RuntimeDep
from roleplay_gateway.openapi_document import errors, event_stream
from roleplay_gateway.turns.endpoints import turn_command
from roleplay_gateway.turns.schemas import TURN_EVENTS
from roleplay_gateway.turns.sse import SSE_HEADERS

log = get_logger(__name__)

# A suggestion streams straight from the chat instance, never taken over: no restarts.
SUGGESTION_EVENTS = {name: model for name, model in TURN_EVENTS.items() if name != "turn.restarted"}

router = APIRouter(prefix="/v1", tags=["turns"])


@router.post(
    "/conversations/{conversation_id}/impersonate",
    response_class=StreamingResponse,
    responses={
        200: event_stream(
            "The suggestion as Server-Sent Events: `turn.started`, `delta`s, then "
            "`turn.completed` (its `message` is the unsaved suggestion, `sender: user`) or "
            "`turn.failed`.",
            SUGGESTION_EVENTS,
        ),
        **errors(404, 409),
    },
)
async def impersonate(
    conversation_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    runtime: RuntimeDep,
    chat: ChatDep,
) -> StreamingResponse:
    """Stream a suggested next message written as your persona; it is stored nowhere."""
    command = await turn_command(
        request, "impersonate", conversation_id, user=user, runtime=runtime, chat=chat
    )
    check = getattr(request.app.state, "quota_check", None)
    if check is not None:
        await check(user.id)
    exits = AsyncExitStack()
    # Opened before answering, so the chat service's refusal is this route's status.
    chunks = await exits.enter_async_context(
        chat.stream("/internal/impersonate", json=command.model_dump(mode="json"))
    )

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        except Exception as exc:  # the chat service went away mid-stream: the stream ends
            log.warning("impersonation stream cut off", error=type(exc).__name__)
        finally:
            await exits.aclose()

    return StreamingResponse(relay(), media_type="text/event-stream", headers=SSE_HEADERS)
