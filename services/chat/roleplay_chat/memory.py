"""Keeping memory up to date, off the reply's path.

After a turn completes, messages that have left the prompt (the recent window, or sooner the
token budget) are folded into the conversation's summary and into memory items of the three
tiers (see `domain/memory.py`), by the catalog's `memory` task models in order, the turn's
own model last. It runs in the background: the reply is already delivered, and a failure only
means memory is updated after a later turn. Every call is accounted with `usage.recorded`
(`memory`), counted with the model's tokenizer or what the provider reported; a change is
announced with `chat.memory.updated`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_chat.domain import memory as rules
from roleplay_chat.domain.prompt import ChatPrompt, HistoryMessage, Memory
from roleplay_chat.domain.tokens import MESSAGE_OVERHEAD, counter_for
from roleplay_chat.memory_store import MemoryItem, items_for_conversation
from roleplay_chat.providers.errors import ProviderError
from roleplay_chat.providers.openai_compatible import (
    ProviderSession,
    StreamEnd,
    TextDelta,
    stream_chat,
)
from roleplay_chat.settings import ChatSettings
from roleplay_chat.store import Conversation, Message
from roleplay_common.db import add_to_outbox
from roleplay_common.events import (
    EventEnvelope,
    MemoryUpdated,
    ModelRoute,
    RequestChatTurn,
    UsageRecorded,
)
from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime

log = get_logger(__name__)

NEARLY_FULL = 0.75


@dataclass(frozen=True)
class Call:
    """One memory model call, for usage."""

    route: ModelRoute
    text: str
    tokens_in: int
    tokens_out: int
    latency_ms: int
    error: ProviderError | None


def budget_window(prompt: ChatPrompt) -> int | None:
    """How many history messages the next prompt can be counted on to hold, when the token
    budget is what limits it: the prompt dropped messages, or filled `NEARLY_FULL` of its
    budget (folding then, ahead of the cut, is what keeps a message from leaving the prompt
    before it is in the summary). The next prompt also holds this reply and a new message.
    None: the budget is not the limit."""
    if not prompt.dropped and prompt.tokens_in < prompt.budget * NEARLY_FULL:
        return None
    return max(prompt.kept - 2, 0)


def memory_routes(command: RequestChatTurn, reply_route: ModelRoute) -> list[ModelRoute]:
    """The catalog's `memory` models in order, then the reply's model, each once."""
    seen: set[str] = set()
    routes = []
    for route in [*command.memory_routes, reply_route]:
        if route.model_key not in seen:
            seen.add(route.model_key)
            routes.append(route)
    return routes


class MemoryKeeper:
    def __init__(
        self, runtime: Runtime, settings: ChatSettings, providers: ProviderSession
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.providers = providers

    async def update(
        self,
        command: RequestChatTurn,
        route: ModelRoute,
        cause: EventEnvelope,
        *,
        window: int | None = None,
    ) -> bool:
        """Fold messages out of the prompt into memory if it is time; True if it did.
        `window`: how many history messages the turn's prompt held within its budget."""
        async with self.runtime.db.transaction() as session:
            conversation = await session.get(Conversation, command.conversation_id)
            if conversation is None:
                return False
            rows = (
                await session.execute(
                    sa.select(
                        col(Message.id),
                        col(Message.position),
                        col(Message.sender),
                        col(Message.content),
                    )
                    .where(col(Message.conversation_id) == command.conversation_id)
                    .order_by(col(Message.position))
                )
            ).all()
            summary = conversation.memory_summary
            through = conversation.memory_through_position
            character_id = conversation.character_id
            existing = await items_for_conversation(
                session,
                command.user_id,
                character_id,
                command.conversation_id,
                with_forgotten=True,
            )
            known = [(i.tier, i.text, i.forgotten) for i in existing]
        todo = rules.plan(
            [(r.position, HistoryMessage(r.sender, r.content)) for r in rows],
            through_position=through,
            keep_recent=self.settings.memory_keep_recent,
            batch=self.settings.memory_batch,
            window=window,
        )
        if todo is None:
            return False
        ids = {r.position: str(r.id) for r in rows}
        user = command.persona.name if command.persona else "User"
        messages = rules.request(
            Memory(summary),
            todo.messages,
            character=command.character.name,
            user=user,
            known=[text for _, text, forgotten in known if not forgotten],
        )
        calls = []
        for candidate in memory_routes(command, route):
            call = await self._call(candidate, messages)
            calls.append(call)
            if call.error is None:
                break
        answer = calls[-1] if calls[-1].error is None else None
        async with self.runtime.db.transaction() as session:
            changed: list[uuid.UUID] = []
            summary_changed = False
            if answer is not None:
                extracted = rules.parse(answer.text, summary)
                folded = await session.execute(
                    sa.update(Conversation)
                    .where(
                        col(Conversation.id) == command.conversation_id,
                        col(Conversation.memory_through_position) == through,
                    )
                    .values(
                        memory_summary=extracted.summary,
                        memory_through_position=todo.through_position,
                    )
                )
                if folded.rowcount:  # type: ignore[attr-defined]
                    summary_changed = extracted.summary != summary
                    changed = await self._store_items(
                        session,
                        command,
                        character_id,
                        extracted,
                        known,
                        [ids[p] for p in todo.positions if p in ids],
                    )
            for call in calls:
                await self._record_usage(session, command, call, cause)
            if changed or summary_changed:
                await add_to_outbox(
                    session,
                    self.runtime.schema,
                    self.runtime.topics,
                    self.runtime.envelope(
                        MemoryUpdated(
                            conversation_id=command.conversation_id,
                            user_id=command.user_id,
                            item_ids=changed,
                            summary_changed=summary_changed,
                        ),
                        causation=cause,
                    ),
                )
        return answer is not None

    async def _call(self, route: ModelRoute, messages: list[dict[str, str]]) -> Call:
        count = counter_for(route.model_name)
        started = time.monotonic()
        text, error = "", None
        reported_in: int | None = None
        reported_out: int | None = None
        try:
            async for event in stream_chat(
                self.providers,
                route,
                messages,
                max_tokens=self.settings.memory_max_tokens,
                temperature=0.2,
                first_token_timeout=min(
                    route.timeout_seconds, self.settings.first_token_timeout_seconds
                ),
                idle_timeout=self.settings.idle_timeout_seconds,
            ):
                if isinstance(event, TextDelta):
                    text += event.text
                elif isinstance(event, StreamEnd):
                    reported_in, reported_out = event.prompt_tokens, event.completion_tokens
        except ProviderError as exc:
            error = exc
            log.warning("memory update failed", code=exc.code, model=route.model_key)
        estimated_in = sum(count(m["content"]) + MESSAGE_OVERHEAD for m in messages)
        return Call(
            route=route,
            text=text,
            tokens_in=reported_in or estimated_in,
            tokens_out=reported_out or count(text),
            latency_ms=int((time.monotonic() - started) * 1000),
            error=error,
        )

    async def _store_items(
        self,
        session: AsyncSession,
        command: RequestChatTurn,
        character_id: uuid.UUID,
        extracted: rules.Extracted,
        known: list[tuple[str, str, bool]],
        sources: list[str],
    ) -> list[uuid.UUID]:
        rows = []
        for tier, candidates in extracted.items.items():
            # Forgotten items are in `known` too: their tombstones keep them from coming back.
            fresh = rules.new_items(candidates, [text for t, text, _ in known if t == tier])
            rows += [
                MemoryItem(
                    user_id=command.user_id,
                    tier=tier,
                    character_id=character_id if tier != "profile" else None,
                    conversation_id=command.conversation_id if tier == "conversation" else None,
                    text=text,
                    normalized=rules.normalize(text),
                    source_message_ids=sources,
                ).model_dump()
                for text in fresh
            ]
        if not rows:
            return []
        # Another extraction may have added the same text meanwhile: that row stands.
        added = await session.execute(
            insert(MemoryItem).values(rows).on_conflict_do_nothing().returning(col(MemoryItem.id))
        )
        return list(added.scalars())

    async def _record_usage(
        self, session: AsyncSession, command: RequestChatTurn, call: Call, cause: EventEnvelope
    ) -> None:
        route = call.route
        await add_to_outbox(
            session,
            self.runtime.schema,
            self.runtime.topics,
            self.runtime.envelope(
                UsageRecorded(
                    user_id=command.user_id,
                    provider=route.provider,
                    model=route.model_key,
                    request_type="memory",
                    tokens_in=call.tokens_in,
                    tokens_out=call.tokens_out,
                    cost_in=_cost(call.tokens_in, route.input_cost_per_mtok),
                    cost_out=_cost(call.tokens_out, route.output_cost_per_mtok),
                    status="success" if call.error is None else "error",
                    response_status=call.error.status if call.error else 200,
                    latency_ms=call.latency_ms,
                    occurred_at=datetime.now(UTC),
                    reference_id=str(command.turn_id),
                    error_code=call.error.code if call.error else None,
                ),
                causation=cause,
            ),
        )


def _cost(tokens: int, per_million: Decimal) -> Decimal:
    return (Decimal(tokens) * per_million / Decimal(1_000_000)).quantize(Decimal("0.000001"))
