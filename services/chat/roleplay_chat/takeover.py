"""Turns outlive the instance that ran them.

Each instance holds a lease on the turns it accepted and renews all of them at once, one
statement every third of `CHAT_TURN_LEASE_SECONDS`. A stopping instance gives its leases
back; a crashed one stops renewing. Every instance looks for turns whose lease ran out and
takes them over: the command is self-contained (it is stored with the turn), the user's
message is stored already, so the reply is simply produced again.

What the client sees: the stream goes on with a `turn.restarted` event (the next `seq` after
every record the previous instance got into the log, see `turn_log`), meaning "drop the text
so far", then the new reply's deltas. The stored reply is the text after the last
`turn.restarted`. A turn is restarted at most `MAX_RESTARTS` times; after that, or when its
conversation is gone, it ends with `turn_interrupted`.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from aiokafka import TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_chat.store import Turn, get_conversation
from roleplay_chat.turn_log import last_published_seq
from roleplay_common.events import ChatTurnDelta, EventEnvelope, RequestChatTurn, TurnError
from roleplay_common.logging import bind_correlation, get_logger

if TYPE_CHECKING:
    from roleplay_chat.turns import TurnRunner

log = get_logger(__name__)

MAX_RESTARTS = 2
INTERRUPTED = TurnError(
    code="turn_interrupted", message="the reply was interrupted; please try again"
)


@dataclass(frozen=True)
class TakenTurn:
    command: RequestChatTurn
    envelope: EventEnvelope
    created_at: datetime


class TurnTakeover:
    def __init__(self, runner: TurnRunner) -> None:
        self.runner = runner
        self.instance = runner.instance
        self.lease = runner.settings.turn_lease_seconds

    # -- this instance's leases ------------------------------------------------------------

    async def renew(self) -> int:
        """Extend the lease of every unfinished turn a task of this instance runs. A turn
        whose task crashed (a database blip mid-reply) is not renewed: its lease runs out
        and it is taken over, here or elsewhere, rather than held forever."""
        active = list(self.runner.active)
        if not active:
            return 0
        async with self.runner.runtime.db.transaction() as session:
            renewed = await session.execute(
                sa.update(Turn)
                .where(
                    col(Turn.id).in_(active),
                    col(Turn.lease_owner) == self.instance,
                    col(Turn.finished_at).is_(None),
                )
                .values(lease_until=self.runner.lease_end())
            )
        return int(getattr(renewed, "rowcount", 0) or 0)

    async def give_back(self, turn_id: uuid.UUID) -> None:
        """End the lease of a turn whose task crashed, so it is taken over within seconds;
        retried each second while the database is away (at worst the lease runs out)."""
        for _ in range(max(1, int(self.lease))):
            try:
                async with self.runner.runtime.db.transaction() as session:
                    await session.execute(
                        sa.update(Turn)
                        .where(
                            col(Turn.id) == turn_id,
                            col(Turn.lease_owner) == self.instance,
                            col(Turn.finished_at).is_(None),
                        )
                        .values(lease_until=datetime.now(UTC))
                    )
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "could not give a crashed turn back; retrying", error=type(exc).__name__
                )
                await asyncio.sleep(1.0)

    async def keep_leases(self) -> None:
        """Renew while the instance runs; a failed renewal (a database blip) is retried soon."""
        interval = self.lease / 3
        while True:
            try:
                await self.renew()
                await asyncio.sleep(interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("could not renew turn leases; retrying", error=type(exc).__name__)
                await asyncio.sleep(min(interval, 1.0))

    async def release(self) -> None:
        """Give this instance's turns back at once (it is stopping): another takes them over
        without waiting for the lease to run out."""
        async with self.runner.runtime.db.transaction() as session:
            await session.execute(
                sa.update(Turn)
                .where(col(Turn.lease_owner) == self.instance, col(Turn.finished_at).is_(None))
                .values(lease_until=datetime.now(UTC))
            )

    # -- other instances' turns ------------------------------------------------------------

    async def take_over(self) -> list[TakenTurn]:
        """Claim the turns whose lease ran out and run them here; returns what was taken."""
        taken: list[TakenTurn] = []
        ended = 0
        async with self.runner.runtime.db.transaction() as session:
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
                envelope = EventEnvelope.model_validate(turn.command)
                command = envelope.payload()
                assert isinstance(command, RequestChatTurn)
                if turn.restarts >= MAX_RESTARTS:
                    self.runner.finish_failed(session, turn, INTERRUPTED, deltas=turn.deltas)
                    await self.runner.emit_failed(
                        session, command, envelope, INTERRUPTED, deltas=turn.deltas
                    )
                    ended += 1
                    continue
                turn.restarts += 1
                turn.lease_owner = self.instance
                turn.lease_until = self.runner.lease_end()
                taken.append(TakenTurn(command, envelope, turn.created_at))
        if ended:
            log.warning("ended turns restarted too often", count=ended)
        for item in taken:
            self.runner.detach(self._resume(item), f"takeover-{item.command.turn_id}")
        return taken

    async def watch(self) -> None:
        while True:
            try:
                await self.take_over()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not take over abandoned turns")
            await asyncio.sleep(min(self.lease / 3, 5.0))

    async def _resume(self, taken: TakenTurn) -> None:
        command, envelope = taken.command, taken.envelope
        with bind_correlation(envelope.correlation_id, turn_id=str(command.turn_id)):
            try:
                topic = self.runner.topics.name(ChatTurnDelta)
                partition = await self.runner.stream_producer.partition_of(
                    topic, str(command.conversation_id).encode()
                )
                after = await last_published_seq(
                    self.runner.settings.kafka,
                    TopicPartition(topic, partition),
                    turn_id=command.turn_id,
                    since=taken.created_at,
                )
                async with self.runner.runtime.db.transaction() as session:
                    conversation = await get_conversation(session, command.conversation_id)
                    if conversation is None:
                        await self._end(session, command.turn_id, command, envelope)
                        return
                    prepared = await self.runner.prepare(session, command, conversation)
                log.warning("taking over a turn", published=after)
                await self.runner.run_guarded(command, envelope, prepared, restart_after=after)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not take over a turn; it will be tried again")

    async def _end(
        self,
        session: AsyncSession,
        turn_id: uuid.UUID,
        command: RequestChatTurn,
        envelope: EventEnvelope,
    ) -> None:
        turn = await session.get(Turn, turn_id, with_for_update=True)
        if turn is None or turn.finished_at is not None:
            return
        self.runner.finish_failed(session, turn, INTERRUPTED, deltas=turn.deltas)
        await self.runner.emit_failed(session, command, envelope, INTERRUPTED, deltas=turn.deltas)
