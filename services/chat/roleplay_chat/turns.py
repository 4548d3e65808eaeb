"""Running a turn: from `chat.turn.requested` to a stored reply and its events.

1. `accept` (inside the Kafka handler, one transaction): dedupe the command, check the
   conversation belongs to the user, record the turn, store the user message once.
   The offset is committed right after, so one slow reply never blocks the partition.
2. `run` (in the background, one conversation at a time per process): announce the turn,
   build the prompt from the newest history within the model's budget, stream the provider
   with retries and fallback, publish every piece of text as it arrives, then store the reply
   and publish `chat.turn.completed` and `usage.recorded` through the outbox, in one
   transaction (`turn_endings`). A failure stores nothing but the failure, and says why.
3. A turn whose instance stopped mid-stream (its lease ran out) is taken over by another
   instance and its reply produced again (`takeover`), so no client waits forever.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_chat.domain.prompt import (
    ChatPrompt,
    HistoryMessage,
    Memory,
    activation_records,
    assemble,
    plan_prompt,
)
from roleplay_chat.domain.prompt_plan import PromptPlan
from roleplay_chat.domain.tokens import counter_for
from roleplay_chat.memory import MemoryKeeper, budget_window
from roleplay_chat.memory_store import conversation_memory
from roleplay_chat.providers.errors import ProviderError
from roleplay_chat.providers.openai_compatible import ProviderSession, StreamEvent, stream_chat
from roleplay_chat.reply_stream import DeltaPacing, ReplyStream, TurnStreamProducer
from roleplay_chat.routing import TurnFailedError, stream_with_fallback
from roleplay_chat.settings import ChatSettings
from roleplay_chat.store import (
    CONVERSATIONS,
    MESSAGES,
    PREVIEW_CHARS,
    TURNS,
    Conversation,
    Turn,
    get_conversation,
    newest_message,
    recent_history,
)
from roleplay_chat.stream_limits import StreamLimits
from roleplay_chat.takeover import TurnTakeover
from roleplay_chat.turn_endings import PROMPT_TOO_LARGE, TurnEndings
from roleplay_chat.worker_health import WorkerHealth
from roleplay_common.broker import envelope_headers
from roleplay_common.db.plumbing import processed_events_table
from roleplay_common.events import (
    ChatTurnDelta,
    ChatTurnStarted,
    EventEnvelope,
    ModelRoute,
    RequestChatTurn,
    TurnError,
)
from roleplay_common.events.turn_stream import DeltaEncoder
from roleplay_common.logging import bind_correlation, get_logger
from roleplay_common.service import Runtime
from roleplay_common.trace_context import current_traceparent, parent_for
from roleplay_common.tracing import tracer

log = get_logger(__name__)
TRACER = tracer("roleplay.chat")

FIRST_DELTA = Histogram(
    "roleplay_chat_first_delta_seconds",
    "From the turn command's request time to its first published delta.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
FINISHED_TURNS = Counter("roleplay_chat_turns_total", "Finished turns by outcome.", ["outcome"])


@dataclass(frozen=True)
class Prepared:
    """What the prompt needs, read in the transaction that accepted the turn."""

    history: list[HistoryMessage]
    memory: Memory
    message_count: int
    """The conversation's length as `history` counts it (history is only its newest part)."""


class TurnRunner(TurnEndings):
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
        self.pacing = DeltaPacing(
            settings.delta_window_ms / 1000,
            records_per_second=settings.delta_records_per_second,
            ceiling=settings.delta_window_max_ms / 1000,
        )
        self._conversation_locks: defaultdict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._running: set[asyncio.Task[None]] = set()
        # The turns a task of this instance runs (or waits to run): only their leases are
        # renewed, so a turn whose task crashed is taken over like one whose instance died.
        self.active: set[uuid.UUID] = set()
        self.takeover = TurnTakeover(self)

    # -- 1. accept -------------------------------------------------------------------------

    async def accept(self, command: RequestChatTurn, envelope: EventEnvelope) -> Prepared | None:
        """Record the turn and the user message, and read what the prompt needs while the
        transaction is open; None when there is nothing to run.

        Every turn makes this trip, so it is four statements: claim the command and record
        the turn; lock the conversation; store the user message with the conversation's
        preview; read the history."""
        async with self.runtime.db.transaction() as session:
            if not await self._record_turn(session, command, envelope):
                return None
            conversation = await get_conversation(session, command.conversation_id, lock=True)
            refusal = _refusal(conversation, command)
            if (
                refusal is None
                and command.kind == "regenerate"
                and await newest_message(session, command.conversation_id) is None
            ):
                refusal = TurnError(
                    code="nothing_to_regenerate",
                    message="the conversation has no message to regenerate a reply to",
                )
            if refusal is not None:
                turn = await session.get(Turn, command.turn_id)
                assert turn is not None
                self.finish_failed(session, turn, refusal)
                await self.emit_failed(session, command, envelope, refusal, deltas=0)
                return None
            assert conversation is not None
            if command.kind == "send" and command.content is not None:
                await _store_user_message(session, command)
            return await self.prepare(session, command, conversation)

    async def _record_turn(
        self, session: AsyncSession, command: RequestChatTurn, envelope: EventEnvelope
    ) -> bool:
        """Claim the command and record its turn, in one statement; False when either was
        seen before (a redelivered or replayed command)."""
        claimed = (
            insert(processed_events_table(self.runtime.schema))
            .values(event_id=envelope.id, consumer="turns", event_type=envelope.type)
            .on_conflict_do_nothing()
            .returning(sa.literal(1).label("claimed"))
            .cte("claimed")
        )
        row = {
            "id": command.turn_id,
            "conversation_id": command.conversation_id,
            "user_id": command.user_id,
            "kind": command.kind,
            "status": "requested",
            "user_message_id": command.user_message_id,
            "deltas": 0,
            "restarts": 0,
            "command": envelope.model_dump(mode="json"),
            "lease_owner": self.instance,
            "lease_until": self.lease_end(),
            "created_at": datetime.now(UTC),
        }
        columns = [TURNS.c[name] for name in row]
        values = sa.select(
            *(sa.literal(value, type_=TURNS.c[name].type) for name, value in row.items())
        ).select_from(claimed)
        recorded = await session.execute(
            insert(TURNS)
            .from_select(columns, values)
            .on_conflict_do_nothing()
            .returning(TURNS.c.id)
        )
        return recorded.first() is not None

    def schedule(
        self, command: RequestChatTurn, envelope: EventEnvelope, prepared: Prepared
    ) -> None:
        self.detach(self.run_guarded(command, envelope, prepared), str(command.turn_id))

    async def shutdown(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        try:
            await self.takeover.release()
        except Exception as exc:
            log.warning("could not give back turn leases", error=type(exc).__name__)

    async def run_guarded(
        self,
        command: RequestChatTurn,
        envelope: EventEnvelope,
        prepared: Prepared,
        *,
        restart_after: int | None = None,
    ) -> None:
        """Run the turn; with `restart_after`, one taken over from a stopped instance (see
        `takeover`), whose start was announced already."""
        with (
            bind_correlation(envelope.correlation_id, turn_id=str(command.turn_id)),
            TRACER.start_as_current_span(
                "chat.turn.run",
                context=parent_for(envelope.traceparent),
                attributes={
                    "roleplay.turn_id": str(command.turn_id),
                    "roleplay.turn.kind": command.kind,
                    "roleplay.correlation_id": envelope.correlation_id,
                    "roleplay.turn.restart_after": -1 if restart_after is None else restart_after,
                },
            ),
        ):
            self.active.add(command.turn_id)
            try:
                announced = None
                if restart_after is None:
                    announced = await self._announce(command, envelope)
                lock = self._conversation_locks[command.conversation_id]
                waited = lock.locked()
                async with lock:
                    # Right after accepting, the turn's lease is fresh: only a turn that
                    # waited for its conversation's previous one may have been taken over.
                    if (not waited and restart_after is None) or await self._still_ours(
                        command.turn_id
                    ):
                        await self.run(
                            command, envelope, prepared, announced, restart_after=restart_after
                        )
                    else:
                        log.warning("turn was ended or taken over while it waited; not running")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("turn crashed; it is given back to be taken over")
                self.detach(
                    self.takeover.give_back(command.turn_id), f"give-back-{command.turn_id}"
                )
            finally:
                self.active.discard(command.turn_id)

    # -- 2. run ----------------------------------------------------------------------------

    async def run(
        self,
        command: RequestChatTurn,
        envelope: EventEnvelope,
        prepared: Prepared,
        announced: Callable[[], Awaitable[None]] | None = None,
        *,
        restart_after: int | None = None,
    ) -> None:
        """Stream the reply and store it. `announced` confirms `turn.started` (sent, not yet
        acknowledged: the provider call does not wait for the broker) before the turn ends.
        `restart_after`: the last `seq` a stopped instance published for this turn."""
        history, memory = prepared.history, prepared.memory
        plan = plan_prompt(command, history, memory=memory, message_count=prepared.message_count)
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
                traceparent=current_traceparent() or envelope.traceparent,
            ),
            window=self.pacing,
        )

        async def on_text(text: str) -> None:
            if reply_stream.seq == 0 and restart_after is None:
                FIRST_DELTA.observe(
                    max((datetime.now(UTC) - command.requested_at).total_seconds(), 0)
                )
            await reply_stream.add(text)

        def stream(route: ModelRoute) -> AsyncIterator[StreamEvent]:
            return self.stream_plan(command, plan, route, estimated_in, prompts)

        try:
            if restart_after is not None:
                await reply_stream.restart(restart_after, "instance_stopped")
            # One span for the whole provider stream (its HTTP calls inside), none per delta.
            with TRACER.start_as_current_span("chat.reply.stream") as span:
                try:
                    reply = await stream_with_fallback(
                        command.routes,
                        stream,
                        on_text,
                        health=self.health,
                        retries=self.settings.provider_retries,
                        backoff=self.settings.provider_backoff_seconds,
                    )
                finally:
                    span.set_attribute("roleplay.reply.records", reply_stream.seq)
                span.set_attributes(
                    {
                        "roleplay.model": reply.route.model_key,
                        "roleplay.provider": reply.route.provider,
                        "roleplay.reply.attempts": len(reply.attempts),
                    }
                )
        except TurnFailedError as failure:
            deltas = await reply_stream.finish()
            if announced is not None:
                await announced()
            await self.fail(command, envelope, failure, deltas=deltas, estimated_in=estimated_in)
            FINISHED_TURNS.labels("failed").inc()
            return
        except BaseException:
            reply_stream.abandon()
            raise
        deltas = await reply_stream.finish()
        if announced is not None:
            await announced()
        await self.complete(
            command,
            envelope,
            reply,
            deltas=deltas,
            estimated_in=estimated_in,
            lore=activation_records(prompts[reply.route.model_key]),
        )
        FINISHED_TURNS.labels("completed").inc()
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
            self.detach(
                self._remember(command, reply.route, envelope, window=window),
                f"memory-{command.turn_id}",
            )

    async def stream_plan(
        self,
        command: RequestChatTurn,
        plan: PromptPlan,
        route: ModelRoute,
        estimated_in: dict[str, int],
        prompts: dict[str, ChatPrompt] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """The planned prompt assembled for `route` and streamed from it, within the model's
        concurrency limit; a prompt that cannot fit the route is refused (`prompt_too_large`).
        Records the estimated prompt tokens (and the prompt) per model key."""
        prompt = assemble(
            plan,
            context_window=route.context_window,
            max_output_tokens=command.generation.max_tokens or route.max_output_tokens,
            count=counter_for(route.model_name),
        )
        if prompts is not None:
            prompts[route.model_key] = prompt
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
                stop=command.generation.stop,
                first_token_timeout=min(
                    route.timeout_seconds, self.settings.first_token_timeout_seconds
                ),
                idle_timeout=self.settings.idle_timeout_seconds,
            ):
                yield event
        finally:
            gate.release()

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

    def detach(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def prepare(
        self, session: AsyncSession, command: RequestChatTurn, conversation: Conversation
    ) -> Prepared:
        recent = await recent_history(
            session, command.conversation_id, limit=self.settings.history_limit
        )
        messages, total = recent.messages, recent.total
        if command.kind == "regenerate" and messages and messages[-1][0] == "assistant":
            # A new swipe of the newest reply. When the newest message is the user's (its
            # turn failed), regenerate answers it instead.
            messages, total = messages[:-1], total - 1
        return Prepared(
            history=[HistoryMessage(sender, content) for sender, content in messages],
            memory=await conversation_memory(session, conversation),
            message_count=total,
        )

    # -- helpers ---------------------------------------------------------------------------

    def lease_end(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.settings.turn_lease_seconds)

    async def _still_ours(self, turn_id: uuid.UUID) -> bool:
        async with self.runtime.db.reading() as session:
            turn = await session.get(Turn, turn_id)
            return (
                turn is not None and turn.finished_at is None and turn.lease_owner == self.instance
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


async def _store_user_message(session: AsyncSession, command: RequestChatTurn) -> None:
    """The user's message and the conversation's preview, in one statement."""
    assert command.content is not None
    now = datetime.now(UTC)
    stored = (
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
        .cte("stored")
    )
    await session.execute(
        sa.update(CONVERSATIONS)
        .where(CONVERSATIONS.c.id == command.conversation_id)
        .values(updated_at=now, last_message_preview=command.content[:PREVIEW_CHARS])
        .add_cte(stored)
    )
