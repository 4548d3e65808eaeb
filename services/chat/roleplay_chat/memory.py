"""Keeping a conversation's memory up to date, off the reply's path.

After a turn completes, messages that have left the recent window are folded into the
conversation's summary and key facts by the turn's model (see `domain/memory.py`). It runs in
the background: the reply is already delivered, and a failure only means the memory is
updated after a later turn. Every call is accounted with `usage.recorded` (`memory`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import col

from roleplay_chat.domain import memory as rules
from roleplay_chat.domain.prompt import HistoryMessage, Memory
from roleplay_chat.providers.errors import ProviderError
from roleplay_chat.providers.openai_compatible import ProviderSession, TextDelta, stream_chat
from roleplay_chat.settings import ChatSettings
from roleplay_chat.store import Conversation, Message
from roleplay_common.db import add_to_outbox
from roleplay_common.events import EventEnvelope, ModelRoute, RequestChatTurn, UsageRecorded
from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime

log = get_logger(__name__)


class MemoryKeeper:
    def __init__(
        self, runtime: Runtime, settings: ChatSettings, providers: ProviderSession
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.providers = providers

    async def update(
        self, command: RequestChatTurn, route: ModelRoute, cause: EventEnvelope
    ) -> bool:
        """Fold old messages into memory if enough have accumulated; True if it did."""
        async with self.runtime.db.transaction() as session:
            conversation = await session.get(Conversation, command.conversation_id)
            if conversation is None:
                return False
            rows = (
                await session.execute(
                    sa.select(col(Message.position), col(Message.sender), col(Message.content))
                    .where(col(Message.conversation_id) == command.conversation_id)
                    .order_by(col(Message.position))
                )
            ).all()
            previous = Memory(conversation.memory_summary, tuple(conversation.memory_facts))
            through = conversation.memory_through_position
        todo = rules.plan(
            [(r.position, HistoryMessage(r.sender, r.content)) for r in rows],
            through_position=through,
            keep_recent=self.settings.memory_keep_recent,
            batch=self.settings.memory_batch,
        )
        if todo is None:
            return False
        user = command.persona.name if command.persona else "User"
        messages = rules.request(
            previous, todo.messages, character=command.character.name, user=user
        )
        started = time.monotonic()
        text, error = "", None
        try:
            async for event in stream_chat(
                self.providers,
                route,
                messages,
                max_tokens=400,
                temperature=0.2,
                first_token_timeout=self.settings.first_token_timeout_seconds,
                idle_timeout=self.settings.idle_timeout_seconds,
            ):
                if isinstance(event, TextDelta):
                    text += event.text
        except ProviderError as exc:
            error = exc
            log.warning("memory update failed", code=exc.code)
        latency = int((time.monotonic() - started) * 1000)
        updated = rules.parse(text, previous) if error is None else previous
        async with self.runtime.db.transaction() as session:
            if error is None:
                await session.execute(
                    sa.update(Conversation)
                    .where(
                        col(Conversation.id) == command.conversation_id,
                        col(Conversation.memory_through_position) == through,
                    )
                    .values(
                        memory_summary=updated.summary,
                        memory_facts=list(updated.facts),
                        memory_through_position=todo.through_position,
                    )
                )
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
                        tokens_in=sum(len(m["content"]) // 4 for m in messages),
                        tokens_out=len(text) // 4,
                        status="success" if error is None else "error",
                        response_status=error.status if error else 200,
                        latency_ms=latency,
                        occurred_at=datetime.now(UTC),
                        reference_id=str(command.turn_id),
                        error_code=error.code if error else None,
                    ),
                    causation=cause,
                ),
            )
        return error is None
