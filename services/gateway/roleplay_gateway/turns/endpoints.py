"""Starting turns (send, regenerate, continue) and streaming them.

Starting a turn checks the conversation is the caller's, takes the character card, persona,
prompt template and model route as they are now, and publishes `chat.turn.requested` with all
of it; the chat service does the rest. The answer is the stream itself (`Accept:
text/event-stream`) or `202` with where to stream it from. Retrying with the same
`Idempotency-Key` or `client_message_id` returns the same turn and starts nothing new.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.broker import publish_raw
from roleplay_common.events import (
    CharacterCard,
    EventEnvelope,
    RequestChatTurn,
)
from roleplay_common.events.chat import TurnKind
from roleplay_common.http import ApiError
from roleplay_common.logging import get_logger
from roleplay_common.text import SafeText
from roleplay_gateway.auth.dependencies import AuthUser, CurrentUser
from roleplay_gateway.catalog.cache import CatalogCache
from roleplay_gateway.catalog.routing import (
    chat_routes,
    memory_routes,
    select_prompt_template,
)
from roleplay_gateway.characters.service import character_card, content_mode
from roleplay_gateway.conversations.endpoints import ChatDep
from roleplay_gateway.deps import RuntimeDep
from roleplay_gateway.idempotency import derived_id
from roleplay_gateway.openapi_document import errors, event_stream
from roleplay_gateway.sse_resume import MAX_EVENT_ID, resume_after
from roleplay_gateway.turns.schemas import TURN_EVENTS, TurnAccepted
from roleplay_gateway.turns.sse import turn_stream_response
from roleplay_gateway.turns.stream_hub import STARTED_SEQ, StreamEvent, TurnLog, TurnStreamHub
from roleplay_gateway.turns.turn_context import turn_context

log = get_logger(__name__)

router = APIRouter(prefix="/v1", tags=["turns"])

TURN_STREAM = event_stream(
    "The turn's events as Server-Sent Events, `: keep-alive` comments every 15 s.", TURN_EVENTS
)
STARTING_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        **TURN_STREAM,
        "description": "With `Accept: text/event-stream`: the turn's events as SSE.",
    },
    202: {"description": "The turn started; stream it from `stream_url`.", "model": TurnAccepted},
    **errors(402, 409),
}


async def get_hub(request: Request) -> TurnStreamHub:
    hub: TurnStreamHub = request.app.state.turn_hub
    return hub


HubDep = Annotated[TurnStreamHub, Depends(get_hub)]
IdempotencyKey = Annotated[str | None, Header(max_length=200)]


class SendMessage(BaseModel):
    content: SafeText = Field(min_length=1, max_length=16_000)
    client_message_id: SafeText | None = Field(default=None, min_length=1, max_length=200)
    model: SafeText | None = Field(default=None, min_length=1, max_length=200)


class TurnOptions(BaseModel):
    model: SafeText | None = Field(default=None, min_length=1, max_length=200)


@dataclass(frozen=True)
class StartedTurn:
    turn_id: uuid.UUID
    user_message_id: uuid.UUID | None
    log: TurnLog

    def body(self) -> dict[str, Any]:
        return {
            "turn_id": str(self.turn_id),
            "user_message_id": str(self.user_message_id) if self.user_message_id else None,
            "stream_url": f"/v1/turns/{self.turn_id}/stream",
        }


@router.post(
    "/conversations/{conversation_id}/messages", status_code=202, responses=STARTING_RESPONSES
)
async def send_message(
    conversation_id: uuid.UUID,
    body: SendMessage,
    request: Request,
    user: CurrentUser,
    runtime: RuntimeDep,
    chat: ChatDep,
    hub: HubDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Send a message; the character's reply streams back."""
    started = await start_turn(
        request,
        "send",
        conversation_id,
        user=user,
        runtime=runtime,
        chat=chat,
        hub=hub,
        content=body.content,
        client_message_id=body.client_message_id,
        model=body.model,
        key=idempotency_key or body.client_message_id,
    )
    return answer(request, hub, started)


@router.post(
    "/conversations/{conversation_id}/regenerate", status_code=202, responses=STARTING_RESPONSES
)
async def regenerate(
    conversation_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    runtime: RuntimeDep,
    chat: ChatDep,
    hub: HubDep,
    body: Annotated[TurnOptions | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new alternative ("swipe") for the last assistant reply."""
    started = await start_turn(
        request,
        "regenerate",
        conversation_id,
        user=user,
        runtime=runtime,
        chat=chat,
        hub=hub,
        model=body.model if body else None,
        key=idempotency_key,
    )
    return answer(request, hub, started)


@router.post(
    "/conversations/{conversation_id}/continue", status_code=202, responses=STARTING_RESPONSES
)
async def continue_story(
    conversation_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    runtime: RuntimeDep,
    chat: ChatDep,
    hub: HubDep,
    body: Annotated[TurnOptions | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The character goes on without user input."""
    started = await start_turn(
        request,
        "continue",
        conversation_id,
        user=user,
        runtime=runtime,
        chat=chat,
        hub=hub,
        model=body.model if body else None,
        key=idempotency_key,
    )
    return answer(request, hub, started)


@router.get(
    "/turns/{turn_id}/stream",
    response_class=StreamingResponse,
    responses={200: TURN_STREAM},
)
async def stream_turn(
    turn_id: uuid.UUID,
    user: CurrentUser,
    chat: ChatDep,
    hub: HubDep,
    after: Annotated[
        int | None, Query(ge=-1, le=MAX_EVENT_ID, description="Last seq seen.")
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> Response:
    """Stream a turn; resume with `Last-Event-ID` or `?after=` — no gap, no duplicate."""
    position = _resume_position(last_event_id, after)
    turn = await hub.find(turn_id, wait=5.0)
    if turn is None:
        turn = await _from_record(chat, hub, turn_id, user)
    if turn.user_id != user.id:
        raise ApiError(404, "not_found", "turn not found")
    return turn_stream_response(hub, turn, after=position)


async def start_turn(
    request: Request,
    kind: Literal["send", "regenerate", "continue"],
    conversation_id: uuid.UUID,
    *,
    user: AuthUser,
    runtime: RuntimeDep,
    chat: ChatDep,
    hub: TurnStreamHub,
    content: str | None = None,
    client_message_id: str | None = None,
    model: str | None = None,
    key: str | None = None,
) -> StartedTurn:
    command = await turn_command(
        request,
        kind,
        conversation_id,
        user=user,
        runtime=runtime,
        chat=chat,
        content=content,
        client_message_id=client_message_id,
        model=model,
        key=key,
    )
    await _check_quota(request, user)
    turn_id, user_message_id = command.turn_id, command.user_message_id
    envelope = EventEnvelope.wrap(
        command,
        producer="gateway",
        correlation_id=getattr(request.state, "correlation_id", None),
        id=derived_id("command", user.id, key, conversation_id, kind) if key else None,
    )
    turn = hub.expect(turn_id, user.id, conversation_id)
    turn.user_message_id = user_message_id
    turn.traceparent = turn.traceparent or envelope.traceparent
    try:
        await publish_raw(runtime.broker, runtime.topics.name(RequestChatTurn), envelope)
    except Exception as exc:
        log.error("could not publish a turn", error=type(exc).__name__)
        raise ApiError(
            503, "broker_unavailable", "could not start the turn", headers={"Retry-After": "5"}
        ) from exc
    return StartedTurn(turn_id, user_message_id, turn)


async def turn_command(
    request: Request,
    kind: TurnKind,
    conversation_id: uuid.UUID,
    *,
    user: AuthUser,
    runtime: RuntimeDep,
    chat: ChatDep,
    content: str | None = None,
    client_message_id: str | None = None,
    model: str | None = None,
    key: str | None = None,
) -> RequestChatTurn:
    """The command a turn publishes (the prompt preview builds the same, unpublished)."""
    conversation = await chat.call(
        "GET", f"/internal/conversations/{conversation_id}", user_id=user.id
    )
    cache: CatalogCache = request.app.state.catalog_cache
    requested = model or conversation.get("model")
    # Lookups without a transaction: nothing stays open while the reply streams.
    async with runtime.db.reading() as session:
        character = await _conversation_character(session, user, conversation)
        persona = await _conversation_persona(session, user, conversation)
        context = await turn_context(session, user, conversation, character, persona)
        routes = await cache.get(("routes", requested), lambda: chat_routes(session, requested))
        for_memory = await cache.get(("memory_routes",), lambda: memory_routes(session))
        mode = content_mode(user, character)
        template = await cache.get(
            ("template", routes[0].model_key, mode),
            lambda: select_prompt_template(
                session,
                use_case="character_roleplay",
                target_model=routes[0].model_key,
                content_mode=mode,
            ),
        )

    def stable(name: str) -> uuid.UUID:
        return derived_id(name, user.id, key, conversation_id, kind) if key else uuid.uuid4()

    turn_id = stable("turn")
    user_message_id = stable("message") if kind == "send" else None
    command = RequestChatTurn(
        turn_id=turn_id,
        conversation_id=conversation_id,
        user_id=user.id,
        kind=kind,
        user_message_id=user_message_id,
        content=content,
        client_message_id=client_message_id,
        character=character,
        persona=persona,
        template=template,
        routes=routes,
        memory_routes=for_memory,
        content_mode=mode,
        requested_at=datetime.now(UTC),
    )
    return context.apply(command)


def answer(request: Request, hub: TurnStreamHub, started: StartedTurn) -> Response:
    if "text/event-stream" in request.headers.get("accept", ""):
        return turn_stream_response(hub, started.log, after=STARTED_SEQ - 1)
    return JSONResponse(started.body(), status_code=202)


async def _check_quota(request: Request, user: AuthUser) -> None:
    check = getattr(request.app.state, "quota_check", None)
    if check is not None:
        await check(user.id)


async def _conversation_character(
    session: AsyncSession, user: AuthUser, conversation: dict[str, Any]
) -> CharacterCard:
    try:
        return await character_card(
            session, user, uuid.UUID(conversation["character_id"]), role="ai"
        )
    except ApiError as exc:
        if exc.status == 404:
            raise ApiError(
                409, "character_unavailable", "the conversation's character is no longer available"
            ) from exc
        raise


async def _conversation_persona(
    session: AsyncSession, user: AuthUser, conversation: dict[str, Any]
) -> CharacterCard | None:
    if not conversation.get("persona_id"):
        return None
    try:
        return await character_card(
            session, user, uuid.UUID(conversation["persona_id"]), role="user"
        )
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def _resume_position(last_event_id: str | None, after: int | None) -> int:
    return resume_after(last_event_id, after, floor=STARTED_SEQ - 1)


async def _from_record(
    chat: ChatDep, hub: TurnStreamHub, turn_id: uuid.UUID, user: AuthUser
) -> TurnLog:
    """A turn the hub does not hold. Still running: follow it live. Older than the hub's
    window: rebuilt from the chat service's record, the whole reply as one delta, then its end.
    """
    record = await chat.call("GET", f"/internal/turns/{turn_id}", user_id=user.id)
    if record["status"] not in ("completed", "failed"):
        return hub.expect(turn_id, user.id, uuid.UUID(record["conversation_id"]))
    turn = TurnLog(
        turn_id=turn_id, user_id=user.id, conversation_id=uuid.UUID(record["conversation_id"])
    )
    started = {
        "turn_id": str(turn_id),
        "conversation_id": record["conversation_id"],
        "user_message_id": record["user_message_id"],
        "kind": record["kind"],
    }
    turn.events[STARTED_SEQ] = StreamEvent(STARTED_SEQ, "turn.started", started)
    message = record.get("message")
    if record["status"] == "completed" and message:
        turn.events[1] = StreamEvent(
            1, "delta", {"turn_id": str(turn_id), "seq": 1, "text": message["content"]}
        )
        turn.events[2] = StreamEvent(
            2, "turn.completed", {"turn_id": str(turn_id), "message": message, "usage": {}}
        )
        turn.final_seq = 2
    elif record["status"] == "failed":
        turn.events[1] = StreamEvent(
            1, "turn.failed", {"turn_id": str(turn_id), "error": record["error"]}
        )
        turn.final_seq = 1
    return turn
