"""How a turn ends: its reply stored with `chat.turn.completed`, or its failure with
`chat.turn.failed`, each in one transaction with `usage.recorded` for every provider call.

Only the turn's lease holder ends it, once: a turn that ended already, or was taken over by
another instance (`takeover`), is left alone. A regenerate adds a swipe to the newest reply,
a continue grows it; anything else is a new message.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_chat.domain.tokens import CALIBRATION, count_tokens
from roleplay_chat.routing import Attempt, RoutedReply, TurnFailedError
from roleplay_chat.store import (
    PREVIEW_CHARS,
    Message,
    Turn,
    alternative_stamp,
    get_conversation,
    last_assistant_message,
    message_view,
    newest_message,
)
from roleplay_common.broker import Topics
from roleplay_common.db import add_to_outbox
from roleplay_common.events import (
    ChatTurnCompleted,
    ChatTurnFailed,
    EventEnvelope,
    LorebookActivation,
    RequestChatTurn,
    TurnError,
    TurnUsage,
    UsageRecorded,
)
from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime

log = get_logger(__name__)

PROMPT_TOO_LARGE = "prompt_too_large"


class TurnEndings:
    """The ending half of `TurnRunner`."""

    runtime: Runtime
    instance: str

    @property
    def topics(self) -> Topics:
        return self.runtime.topics

    async def complete(
        self,
        command: RequestChatTurn,
        envelope: EventEnvelope,
        reply: RoutedReply,
        *,
        deltas: int,
        estimated_in: dict[str, int],
        lore: list[LorebookActivation] | None = None,
    ) -> None:
        schema = self.runtime.schema
        async with self.runtime.db.transaction() as session:
            conversation = await get_conversation(session, command.conversation_id, lock=True)
            if conversation is None:  # deleted while the reply streamed
                return
            if not await _unfinished(session, command.turn_id, self.instance):
                log.warning("turn was ended or taken over before its reply was stored")
                return
            message = await self._store_reply(session, command, reply)
            await session.execute(
                sa.update(Turn)
                .where(col(Turn.id) == command.turn_id)
                .values(
                    status="completed",
                    assistant_message_id=message.id,
                    model_key=reply.route.model_key,
                    deltas=deltas,
                    finished_at=datetime.now(UTC),
                    lease_owner=None,
                )
            )
            conversation.updated_at = datetime.now(UTC)
            conversation.last_message_preview = message.content[:PREVIEW_CHARS]
            await session.flush()
            usage = _turn_usage(reply, estimated_in)
            await add_to_outbox(
                session,
                schema,
                self.topics,
                self.runtime.envelope(
                    ChatTurnCompleted(
                        turn_id=command.turn_id,
                        conversation_id=command.conversation_id,
                        user_id=command.user_id,
                        message=message_view(message),
                        usage=usage,
                        deltas=deltas,
                        lorebook_activations=lore or [],
                    ),
                    causation=envelope,
                ),
            )
            await self.record_usage(session, command, envelope, reply.attempts, estimated_in)

    async def _store_reply(
        self, session: AsyncSession, command: RequestChatTurn, reply: RoutedReply
    ) -> Message:
        text, stamp = reply.text, alternative_stamp(reply.route.model_key)
        if command.kind in ("regenerate", "continue"):
            target = await last_assistant_message(session, command.conversation_id)
            newest = await newest_message(session, command.conversation_id)
            answered = target is not None and newest is not None and newest.id == target.id
            if target is not None and answered and command.kind == "regenerate":
                meta = [*_padded_meta(target), stamp]
                alternatives = [*(target.alternatives or [target.content]), text]
                target.alternatives = alternatives
                target.alternative_meta = meta
                target.selected_index = len(alternatives) - 1
                target.content = text
                target.turn_id = command.turn_id
                target.updated_at = datetime.now(UTC)
                return target
            if target is not None and answered:
                # Continue extends the newest reply: its current swipe grows.
                grown = target.content + text
                alternatives = list(target.alternatives or [target.content])
                alternatives[min(target.selected_index, len(alternatives) - 1)] = grown
                target.alternatives = alternatives
                target.content = grown
                target.turn_id = command.turn_id
                target.updated_at = datetime.now(UTC)
                return target
        message = Message(
            conversation_id=command.conversation_id,
            user_id=command.user_id,
            sender="assistant",
            message_type="continue" if command.kind == "continue" else "reply",
            content=text,
            alternatives=[text],
            alternative_meta=[stamp],
            turn_id=command.turn_id,
        )
        session.add(message)
        return message

    async def fail(
        self,
        command: RequestChatTurn,
        envelope: EventEnvelope,
        failure: TurnFailedError,
        *,
        deltas: int,
        estimated_in: dict[str, int],
    ) -> None:
        log.warning("turn failed", code=failure.code, attempts=len(failure.attempts))
        error = TurnError(code=failure.code, message=failure.message)
        async with self.runtime.db.transaction() as session:
            turn = await session.get(Turn, command.turn_id, with_for_update=True)
            if turn is not None and (
                turn.finished_at is not None or turn.lease_owner != self.instance
            ):
                return  # ended already, or taken over: one ending per turn, by its holder
            if turn is not None:
                self.finish_failed(session, turn, error, deltas=deltas)
            await self.emit_failed(session, command, envelope, error, deltas=deltas)
            await self.record_usage(session, command, envelope, failure.attempts, estimated_in)

    def finish_failed(
        self, session: AsyncSession, turn: Turn, error: TurnError, *, deltas: int = 0
    ) -> None:
        turn.status = "failed"
        turn.error_code = error.code
        turn.error_message = error.message
        turn.deltas = deltas
        turn.finished_at = datetime.now(UTC)
        turn.lease_owner = None

    async def emit_failed(
        self,
        session: AsyncSession,
        command: RequestChatTurn,
        envelope: EventEnvelope,
        error: TurnError,
        *,
        deltas: int,
    ) -> None:
        await add_to_outbox(
            session,
            self.runtime.schema,
            self.topics,
            self.runtime.envelope(
                ChatTurnFailed(
                    turn_id=command.turn_id,
                    conversation_id=command.conversation_id,
                    user_id=command.user_id,
                    error=error,
                    deltas=deltas,
                ),
                causation=envelope,
            ),
        )

    async def record_usage(
        self,
        session: AsyncSession,
        command: RequestChatTurn,
        envelope: EventEnvelope,
        attempts: list[Attempt],
        estimated_in: dict[str, int],
    ) -> None:
        for attempt in attempts:
            if attempt.error is not None and attempt.error.code == PROMPT_TOO_LARGE:
                continue  # refused before any provider call
            tokens_in, tokens_out = _tokens(attempt, estimated_in.get(attempt.route.model_key, 0))
            route = attempt.route
            await add_to_outbox(
                session,
                self.runtime.schema,
                self.topics,
                self.runtime.envelope(
                    UsageRecorded(
                        user_id=command.user_id,
                        provider=route.provider,
                        model=route.model_key,
                        request_type="chat",
                        tokens_in=tokens_in,
                        tokens_out=tokens_out,
                        cost_in=_cost(tokens_in, route.input_cost_per_mtok),
                        cost_out=_cost(tokens_out, route.output_cost_per_mtok),
                        status="success"
                        if attempt.ok
                        else ("timeout" if _timed_out(attempt) else "error"),
                        response_status=attempt.error.status if attempt.error else 200,
                        latency_ms=attempt.latency_ms,
                        occurred_at=datetime.now(UTC),
                        reference_id=str(command.turn_id),
                        error_code=attempt.error.code if attempt.error else None,
                    ),
                    causation=envelope,
                ),
            )


async def _unfinished(session: AsyncSession, turn_id: uuid.UUID, instance: str) -> bool:
    """Lock the turn's row; False when it has ended already or another instance took it."""
    turn = await session.get(Turn, turn_id, with_for_update=True)
    return turn is not None and turn.finished_at is None and turn.lease_owner == instance


def _padded_meta(message: Message) -> list[dict[str, Any]]:
    """The message's `alternative_meta`, one entry per alternative (older rows had none)."""
    meta = list(message.alternative_meta or [])
    count = len(message.alternatives or [message.content])
    stamp = alternative_stamp(None, message.created_at)
    return (meta + [stamp] * count)[:count]


def _tokens(attempt: Attempt, estimated_in: int) -> tuple[int, int]:
    """Tokens as the provider reported them, else our estimate (the call was still made)."""
    end = attempt.end
    tokens_in = end.prompt_tokens if end and end.prompt_tokens is not None else estimated_in
    tokens_out = (
        end.completion_tokens
        if end and end.completion_tokens is not None
        else count_tokens(attempt.text)
    )
    return tokens_in, tokens_out


def _cost(tokens: int, per_million: Decimal) -> Decimal:
    return (Decimal(tokens) * per_million / Decimal(1_000_000)).quantize(Decimal("0.000001"))


def _timed_out(attempt: Attempt) -> bool:
    return attempt.error is not None and attempt.error.code == "provider_timeout"


def _turn_usage(reply: RoutedReply, estimated_in: dict[str, int]) -> TurnUsage:
    attempt = reply.attempts[-1]
    tokens_in, tokens_out = _tokens(attempt, estimated_in.get(reply.route.model_key, 0))
    route = reply.route
    if attempt.end is not None:
        CALIBRATION.observe(
            route.model_name, estimated_in.get(route.model_key, 0), attempt.end.prompt_tokens
        )
    return TurnUsage(
        provider=route.provider,
        model=route.model_key,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=_cost(tokens_in, route.input_cost_per_mtok)
        + _cost(tokens_out, route.output_cost_per_mtok),
        latency_ms=attempt.latency_ms,
        first_token_ms=attempt.first_token_ms,
    )
