"""Running a turn: from `chat.turn.requested` to a stored reply and its events.

1. `accept` (inside the Kafka handler, one transaction): dedupe the command, check the
   conversation belongs to the user, record the turn, store the user message once.
   The offset is committed right after, so one slow reply never blocks the partition.
2. `run` (in the background, one conversation at a time per process): announce the turn,
   build the prompt from the newest history within the model's budget, stream the provider
   with retries and fallback, publish every piece of text as it arrives, then store the reply
   and publish `chat.turn.completed` and `usage.recorded` through the outbox, in one
   transaction. A failure stores nothing but the failure, and says why.
3. `end_abandoned_turns`: a turn whose process died mid-stream (its lease expired) is ended
   with `turn_interrupted`, so no client waits forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_chat.domain.prompt import (
    ChatPrompt,
    HistoryMessage,
    Memory,
    activation_records,
    assemble,
    plan_prompt,
)
from roleplay_chat.domain.tokens import CALIBRATION, count_tokens, counter_for
from roleplay_chat.memory import MemoryKeeper, budget_window
from roleplay_chat.memory_store import conversation_memory
from roleplay_chat.providers.errors import ProviderError
from roleplay_chat.providers.openai_compatible import ProviderSession, StreamEvent, stream_chat
from roleplay_chat.reply_stream import ReplyStream, TurnStreamProducer
from roleplay_chat.routing import Attempt, RoutedReply, TurnFailedError, stream_with_fallback
from roleplay_chat.settings import ChatSettings
from roleplay_chat.store import (
    MESSAGES,
    Conversation,
    Message,
    Turn,
    get_conversation,
    last_assistant_message,
    message_view,
    recent_history,
)
from roleplay_chat.stream_limits import StreamLimits
from roleplay_chat.worker_health import WorkerHealth
from roleplay_common.broker import Topics, envelope_headers
from roleplay_common.db import add_to_outbox, claim_event
from roleplay_common.events import (
    ChatTurnCompleted,
    ChatTurnDelta,
    ChatTurnFailed,
    ChatTurnStarted,
    EventEnvelope,
    LorebookActivation,
    ModelRoute,
    RequestChatTurn,
    TurnError,
    TurnUsage,
    UsageRecorded,
)
from roleplay_common.events.turn_stream import DeltaEncoder
from roleplay_common.logging import bind_correlation, get_logger
from roleplay_common.service import Runtime

log = get_logger(__name__)

PROMPT_TOO_LARGE = "prompt_too_large"

FIRST_DELTA = Histogram(
    "roleplay_chat_first_delta_seconds",
    "From the turn command's request time to its first published delta.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
TURNS = Counter("roleplay_chat_turns_total", "Finished turns by outcome.", ["outcome"])

PREVIEW_CHARS = 160


@dataclass(frozen=True)
class Prepared:
    """What the prompt needs, read in the transaction that accepted the turn."""

    history: list[HistoryMessage]
    memory: Memory


class TurnRunner:
    def __init__(
        self,
        runtime: Runtime,
        settings: ChatSettings,
        http: httpx.AsyncClient,
        providers: ProviderSession,
        stream_producer: TurnStreamProducer,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.providers = providers
        self.stream_producer = stream_producer
        self.health = WorkerHealth(http, interval=settings.worker_health_interval_seconds)
        self.memory = MemoryKeeper(runtime, settings, providers)
        self.instance = f"chat-{uuid.uuid4().hex[:8]}"
        self.limits = StreamLimits()
        self._conversation_locks: defaultdict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._running: set[asyncio.Task[None]] = set()

    @property
    def topics(self) -> Topics:
        return self.runtime.topics

    # -- 1. accept -------------------------------------------------------------------------

    async def accept(self, command: RequestChatTurn, envelope: EventEnvelope) -> Prepared | None:
        """Record the turn and the user message, and read what the prompt needs while the
        transaction is open; None when there is nothing to run."""
        schema = self.runtime.schema
        async with self.runtime.db.transaction() as session:
            if not await claim_event(session, schema, envelope, consumer="turns"):
                return None
            if await session.get(Turn, command.turn_id) is not None:
                return None
            conversation = await get_conversation(session, command.conversation_id, lock=True)
            refusal = _refusal(conversation, command)
            if (
                refusal is None
                and command.kind == "regenerate"
                and await last_assistant_message(session, command.conversation_id) is None
            ):
                refusal = TurnError(
                    code="nothing_to_regenerate",
                    message="the conversation has no reply to regenerate",
                )
            turn = Turn(
                id=command.turn_id,
                conversation_id=command.conversation_id,
                user_id=command.user_id,
                kind=command.kind,
                user_message_id=command.user_message_id,
                command=envelope.model_dump(mode="json"),
                lease_owner=self.instance,
                lease_until=self._lease_end(),
            )
            session.add(turn)
            if refusal is not None:
                self._finish_failed(session, turn, refusal)
                await self._emit_failed(session, command, envelope, refusal, deltas=0)
                return None
            assert conversation is not None
            if command.kind == "send" and command.content is not None:
                await _store_user_message(session, command, conversation)
            return await self._prepare(session, command, conversation)

    def schedule(
        self, command: RequestChatTurn, envelope: EventEnvelope, prepared: Prepared
    ) -> None:
        self._detach(self._run_guarded(command, envelope, prepared), str(command.turn_id))

    async def shutdown(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _run_guarded(
        self, command: RequestChatTurn, envelope: EventEnvelope, prepared: Prepared
    ) -> None:
        with bind_correlation(envelope.correlation_id, turn_id=str(command.turn_id)):
            # The lease is renewed while the turn waits behind others of its conversation
            # too: a queued turn is not abandoned.
            heartbeat = asyncio.create_task(self._renew_lease(command.turn_id))
            try:
                announced = await self._announce(command, envelope)
                async with self._conversation_locks[command.conversation_id]:
                    if await self._still_ours(command.turn_id):
                        await self.run(command, envelope, prepared, announced)
                    else:
                        log.warning("turn was ended while it waited; not running it")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("turn crashed; it will be ended when its lease expires")
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat

    # -- 2. run ----------------------------------------------------------------------------

    async def run(
        self,
        command: RequestChatTurn,
        envelope: EventEnvelope,
        prepared: Prepared,
        announced: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Stream the reply and store it. `announced` confirms `turn.started` (sent, not yet
        acknowledged: the provider call does not wait for the broker) before the turn ends."""
        history, memory = prepared.history, prepared.memory
        plan = plan_prompt(command, history, memory=memory)
        estimated_in: dict[str, int] = {}
        prompts: dict[str, ChatPrompt] = {}
        reply_stream = ReplyStream(
            self.stream_producer,
            self.topics.name(ChatTurnDelta),
            DeltaEncoder(
                turn_id=str(command.turn_id),
                conversation_id=str(command.conversation_id),
                user_id=str(command.user_id),
                producer=self.runtime.name,
                correlation_id=envelope.correlation_id,
                causation_id=str(envelope.id),
                traceparent=envelope.traceparent,
            ),
            window=self.settings.delta_window_ms / 1000,
        )

        async def on_text(text: str) -> None:
            if reply_stream.seq == 0:
                FIRST_DELTA.observe(
                    max((datetime.now(UTC) - command.requested_at).total_seconds(), 0)
                )
            await reply_stream.add(text)

        async def stream(route: ModelRoute) -> AsyncIterator[StreamEvent]:
            prompt = prompts[route.model_key] = assemble(
                plan,
                context_window=route.context_window,
                max_output_tokens=command.generation.max_tokens or route.max_output_tokens,
                count=counter_for(route.model_name),
            )
            estimated_in[route.model_key] = prompt.tokens_in
            if not prompt.fits:
                raise ProviderError(
                    PROMPT_TOO_LARGE,
                    f"the prompt needs {prompt.tokens_in} tokens; {route.model_key} has "
                    f"{prompt.budget} besides the reply",
                    retryable=False,
                )
            gate = self.limits.gate(route)
            if gate.locked():
                with self.limits.waiting(route).track_inprogress():
                    await gate.acquire()
            else:
                await gate.acquire()
            try:
                async for event in stream_chat(
                    self.providers,
                    route,
                    prompt.messages,
                    max_tokens=prompt.max_tokens,
                    temperature=command.generation.temperature,
                    top_p=command.generation.top_p,
                    first_token_timeout=min(
                        route.timeout_seconds, self.settings.first_token_timeout_seconds
                    ),
                    idle_timeout=self.settings.idle_timeout_seconds,
                ):
                    yield event
            finally:
                gate.release()

        try:
            reply = await stream_with_fallback(
                command.routes,
                stream,
                on_text,
                health=self.health,
                retries=self.settings.provider_retries,
                backoff=self.settings.provider_backoff_seconds,
            )
        except TurnFailedError as failure:
            deltas = await reply_stream.finish()
            if announced is not None:
                await announced()
            await self._fail(command, envelope, failure, deltas=deltas, estimated_in=estimated_in)
            TURNS.labels("failed").inc()
            return
        except BaseException:
            reply_stream.abandon()
            raise
        deltas = await reply_stream.finish()
        if announced is not None:
            await announced()
        await self._complete(
            command,
            envelope,
            reply,
            deltas=deltas,
            estimated_in=estimated_in,
            lore=activation_records(prompts[reply.route.model_key]),
        )
        TURNS.labels("completed").inc()
        log.info(
            "turn completed",
            kind=command.kind,
            model=reply.route.model_key,
            deltas=deltas,
            attempts=len(reply.attempts),
            first_token_ms=reply.attempts[-1].first_token_ms,
        )
        # The history read for the prompt (plus this turn's messages) is a lower bound of the
        # conversation's length: too short to have anything to fold, and a prompt far from its
        # budget, memory is left alone.
        window = budget_window(prompts[reply.route.model_key])
        if window is not None or (
            len(prepared.history) + 2
            >= self.settings.memory_keep_recent + self.settings.memory_batch
        ):
            self._detach(
                self._remember(command, reply.route, envelope, window=window),
                f"memory-{command.turn_id}",
            )

    async def _remember(
        self,
        command: RequestChatTurn,
        route: ModelRoute,
        envelope: EventEnvelope,
        *,
        window: int | None,
    ) -> None:
        try:
            await self.memory.update(command, route, envelope, window=window)
        except Exception:
            log.exception("memory update crashed")

    def _detach(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _prepare(
        self, session: AsyncSession, command: RequestChatTurn, conversation: Conversation
    ) -> Prepared:
        messages = await recent_history(
            session, command.conversation_id, limit=self.settings.history_limit
        )
        if command.kind == "regenerate":
            last = max(
                (i for i, (sender, _) in enumerate(messages) if sender == "assistant"), default=None
            )
            messages = messages[:last] if last is not None else messages
        return Prepared(
            history=[HistoryMessage(sender, content) for sender, content in messages],
            memory=await conversation_memory(session, conversation),
        )

    async def _complete(
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
            if not await _unfinished(session, command.turn_id):
                log.warning("turn was ended (lease expired) before its reply was stored")
                return
            message = await self._store_reply(session, command, reply.text)
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
            conversation.last_message_preview = reply.text[:PREVIEW_CHARS]
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
            await self._record_usage(session, command, envelope, reply.attempts, estimated_in)

    async def _store_reply(
        self, session: AsyncSession, command: RequestChatTurn, text: str
    ) -> Message:
        if command.kind == "regenerate":
            target = await last_assistant_message(session, command.conversation_id)
            if target is not None:
                alternatives = list(target.alternatives or [target.content])
                alternatives.append(text)
                target.alternatives = alternatives
                target.selected_index = len(alternatives) - 1
                target.content = text
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
            turn_id=command.turn_id,
        )
        session.add(message)
        return message

    async def _fail(
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
            if turn is not None and turn.finished_at is not None:
                return  # already ended (its lease expired): one ending per turn
            if turn is not None:
                self._finish_failed(session, turn, error, deltas=deltas)
            await self._emit_failed(session, command, envelope, error, deltas=deltas)
            await self._record_usage(session, command, envelope, failure.attempts, estimated_in)

    # -- 3. abandoned turns ----------------------------------------------------------------

    async def end_abandoned_turns(self) -> int:
        """End turns whose lease expired: their process died mid-reply."""
        error = TurnError(
            code="turn_interrupted", message="the reply was interrupted; please try again"
        )
        ended = 0
        async with self.runtime.db.transaction() as session:
            turns = (
                (
                    await session.execute(
                        sa.select(Turn)
                        .where(
                            col(Turn.finished_at).is_(None),
                            col(Turn.lease_until) < datetime.now(UTC),
                        )
                        .limit(100)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for turn in turns:
                command = EventEnvelope.model_validate(turn.command)
                payload = command.payload()
                assert isinstance(payload, RequestChatTurn)
                self._finish_failed(session, turn, error, deltas=turn.deltas)
                await self._emit_failed(session, payload, command, error, deltas=turn.deltas)
                ended += 1
        if ended:
            log.warning("ended abandoned turns", count=ended)
        return ended

    async def watch_abandoned_turns(self) -> None:
        while True:
            try:
                await self.end_abandoned_turns()
            except Exception:
                log.exception("could not end abandoned turns")
            await asyncio.sleep(self.settings.turn_lease_seconds / 2)

    # -- helpers ---------------------------------------------------------------------------

    def _lease_end(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.settings.turn_lease_seconds)

    async def _renew_lease(self, turn_id: uuid.UUID) -> None:
        """Keep the turn's lease while it runs. A failed renewal (a database blip) is retried
        soon and never ends the turn; a turn that is no longer ours is left alone."""
        interval = self.settings.turn_lease_seconds / 3
        wait = interval
        while True:
            await asyncio.sleep(wait)
            try:
                async with self.runtime.db.transaction() as session:
                    renewed = await session.execute(
                        sa.update(Turn)
                        .where(
                            col(Turn.id) == turn_id,
                            col(Turn.finished_at).is_(None),
                            col(Turn.lease_owner) == self.instance,
                        )
                        .values(lease_until=self._lease_end(), status="streaming")
                        .returning(col(Turn.id))
                    )
                    if renewed.first() is None:
                        return
                wait = interval
            except Exception as exc:
                log.warning("could not renew a turn's lease; retrying", error=type(exc).__name__)
                wait = min(interval, 1.0)

    async def _still_ours(self, turn_id: uuid.UUID) -> bool:
        async with self.runtime.db.reading() as session:
            turn = await session.get(Turn, turn_id)
            return turn is not None and turn.finished_at is None

    def _finish_failed(
        self, session: AsyncSession, turn: Turn, error: TurnError, *, deltas: int = 0
    ) -> None:
        turn.status = "failed"
        turn.error_code = error.code
        turn.error_message = error.message
        turn.deltas = deltas
        turn.finished_at = datetime.now(UTC)
        turn.lease_owner = None

    async def _emit_failed(
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

    async def _record_usage(
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

    async def _announce(
        self, command: RequestChatTurn, cause: EventEnvelope
    ) -> Callable[[], Awaitable[None]]:
        """Send `chat.turn.started` before the turn waits for anything (its conversation's
        previous turn or its model's capacity). Returns what confirms the broker took it,
        re-sending it once if not."""
        started = self.runtime.envelope(
            ChatTurnStarted(
                turn_id=command.turn_id,
                conversation_id=command.conversation_id,
                user_id=command.user_id,
                kind=command.kind,
                user_message_id=command.user_message_id,
                model_key=command.routes[0].model_key if command.routes else "",
            ),
            causation=cause,
        )
        topic = self.topics.name(ChatTurnStarted)
        key, value = started.key.encode(), started.model_dump_json().encode()
        headers = [(k, v.encode()) for k, v in envelope_headers(started).items()]
        future = await self.stream_producer.send(topic, key, value, headers)

        async def confirm() -> None:
            try:
                await future
            except Exception:
                log.warning("re-sending turn.started the broker did not acknowledge")
                await (await self.stream_producer.send(topic, key, value, headers))

        return confirm


def _refusal(conversation: Conversation | None, command: RequestChatTurn) -> TurnError | None:
    if conversation is None or conversation.user_id != command.user_id:
        return TurnError(code="conversation_not_found", message="conversation not found")
    if not command.routes:
        return TurnError(code="no_model_available", message="no model is available")
    return None


async def _unfinished(session: AsyncSession, turn_id: uuid.UUID) -> bool:
    """Lock the turn's row; False when it has ended already."""
    turn = await session.get(Turn, turn_id, with_for_update=True)
    return turn is not None and turn.finished_at is None


async def _store_user_message(
    session: AsyncSession, command: RequestChatTurn, conversation: Conversation
) -> None:
    assert command.content is not None
    now = datetime.now(UTC)
    await session.execute(
        insert(MESSAGES)
        .values(
            id=command.user_message_id or uuid.uuid4(),
            conversation_id=command.conversation_id,
            user_id=command.user_id,
            sender="user",
            message_type="text",
            content=command.content,
            alternatives=[],
            selected_index=0,
            turn_id=command.turn_id,
            client_message_id=command.client_message_id,
            scene_ids=[],
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    conversation.updated_at = now
    conversation.last_message_preview = command.content[:PREVIEW_CHARS]


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
