"""Turn streams, replayable from any gateway instance.

Every gateway instance reads the whole `chat.turn.deltas` and `chat.turn.events` topics (no
consumer group: each instance sees every partition) and `chat.turns` (to know whose turn is
whose before it starts). It keeps each turn's events in memory, ordered by `seq`, for
`retention` after the turn ends. Kafka is the durable log and this is a cache of it: on start
an instance seeks every partition back by `retention`, so a client that reconnects to a
different or restarted instance still gets exactly the events after its `Last-Event-ID`.
Duplicates (a republished event) are dropped by `seq`. N gateway instances scale reads; M chat
instances write to the same partitions keyed by conversation; neither needs to know about the
other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from roleplay_common.broker import Topics, ensure_topics
from roleplay_common.events import (
    ChatTurnCompleted,
    ChatTurnDelta,
    ChatTurnFailed,
    ChatTurnRestarted,
    ChatTurnStarted,
    EventEnvelope,
    RequestChatTurn,
)
from roleplay_common.events.turn_stream import DELTA_TYPE, read_delta
from roleplay_common.logging import get_logger
from roleplay_common.settings import KafkaSettings

log = get_logger(__name__)

STARTED_SEQ = 0


@dataclass(frozen=True)
class StreamEvent:
    """One SSE event of a turn: `id:` is `seq`."""

    seq: int
    name: str
    data: dict[str, Any]


@dataclass
class TurnLog:
    turn_id: uuid.UUID
    user_id: uuid.UUID
    conversation_id: uuid.UUID
    user_message_id: uuid.UUID | None = None
    traceparent: str | None = None
    """The trace the turn's work belongs to (from its command or first event): an SSE
    response of it continues that trace."""
    events: dict[int, StreamEvent] = field(default_factory=dict)
    final_seq: int | None = None
    finished_at: float | None = None
    created_at: float = field(default_factory=time.monotonic)
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.final_seq is not None

    @property
    def last_seq(self) -> int:
        return max(self.events, default=STARTED_SEQ - 1)

    def add(self, event: StreamEvent) -> None:
        """Keep an event (a copy of one already kept is dropped) and wake the readers."""
        if event.name in ("turn.completed", "turn.failed"):
            if self.final_seq is not None:
                return
            # An interrupted turn may report fewer deltas than went out: never let the
            # final event collide with one already seen.
            seq = max(event.seq, self.last_seq + 1)
            self.events[seq] = StreamEvent(seq, event.name, event.data)
            self.final_seq = seq
            self.finished_at = time.monotonic()
        elif event.seq in self.events or (
            self.final_seq is not None and event.seq >= self.final_seq
        ):
            return
        else:
            self.events[event.seq] = event
        self._wake()

    def ready_after(self, position: int, *, skip_gaps: bool = False) -> list[StreamEvent]:
        """Events after `position` with no gap before them; with `skip_gaps`, everything
        left (for a turn that ended with events that never arrived)."""
        ready: list[StreamEvent] = []
        seq = position + 1
        last = self.last_seq
        while seq <= last:
            event = self.events.get(seq)
            if event is not None:
                ready.append(event)
            elif not skip_gaps:
                break
            seq += 1
        return ready

    async def changed(self, timeout: float) -> bool:
        """Wait until an event arrives; False when `timeout` passed first."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
            return True
        except TimeoutError:
            return False
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class TurnStreamHub:
    def __init__(
        self, settings: KafkaSettings, topics: Topics, *, retention_seconds: float = 900.0
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.retention = retention_seconds
        self.gap_grace = 2.0
        self.turns: dict[uuid.UUID, TurnLog] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.caught_up = asyncio.Event()
        self._expected: dict[uuid.UUID, list[asyncio.Future[None]]] = {}

    async def start(self) -> None:
        names = [
            self.topics.name(ChatTurnDelta),
            self.topics.name(ChatTurnCompleted),
            self.topics.name(RequestChatTurn),
        ]
        await ensure_topics(self.settings, names)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        await consumer.start()
        partitions = await _all_partitions(self.settings, names)
        consumer.assign(partitions)
        since = int((time.time() - self.retention) * 1000)
        offsets = await consumer.offsets_for_times(dict.fromkeys(partitions, since))
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            found = offsets.get(tp)
            consumer.seek(tp, found.offset if found is not None else ends[tp])
        self._consumer = consumer
        self._task = asyncio.create_task(self._consume(ends), name="turn-stream-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer:
            await self._consumer.stop()

    async def _consume(self, ends: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        pending = {tp: end for tp, end in ends.items() if end > 0}
        if not pending or all(await self._positions_reached(pending)):
            self.caught_up.set()
        last_evict = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=1000)
            for records in batches.values():
                for record in records:
                    if record.value is not None:
                        self._apply(record.value)
            if not self.caught_up.is_set() and all(await self._positions_reached(pending)):
                self.caught_up.set()
                log.info("turn stream hub caught up", turns=len(self.turns))
            if time.monotonic() - last_evict > 30:
                self.evict()
                last_evict = time.monotonic()

    async def _positions_reached(self, ends: dict[TopicPartition, int]) -> list[bool]:
        assert self._consumer is not None
        return [await self._consumer.position(tp) >= end for tp, end in ends.items()]

    def _apply(self, raw: bytes) -> None:
        """One record of the turn topics. Deltas, nearly all of them, are read straight from
        the JSON; the rare other events are validated as usual."""
        try:
            decoded = json.loads(raw)
        except ValueError:
            return
        if not isinstance(decoded, dict):
            return
        if decoded.get("type") == DELTA_TYPE:
            delta = read_delta(decoded)
            if delta is not None:
                turn = self.expect(delta.turn_id, delta.user_id, delta.conversation_id)
                if turn.traceparent is None:
                    turn.traceparent = decoded.get("traceparent")
                turn.add(
                    StreamEvent(
                        delta.seq,
                        "delta",
                        {"turn_id": str(delta.turn_id), "seq": delta.seq, "text": delta.text},
                    )
                )
            return
        try:
            envelope = EventEnvelope.model_validate(decoded)
            payload = envelope.payload()
        except ValueError:
            return
        if isinstance(payload, RequestChatTurn):
            turn = self.expect(payload.turn_id, payload.user_id, payload.conversation_id)
            turn.user_message_id = payload.user_message_id
            turn.traceparent = turn.traceparent or envelope.traceparent
            return
        if isinstance(
            payload, ChatTurnStarted | ChatTurnRestarted | ChatTurnCompleted | ChatTurnFailed
        ):
            turn = self.expect(payload.turn_id, payload.user_id, payload.conversation_id)
            turn.traceparent = turn.traceparent or envelope.traceparent
            turn.add(_stream_event(payload, turn))

    def expect(self, turn_id: uuid.UUID, user_id: uuid.UUID, conversation_id: uuid.UUID) -> TurnLog:
        """Know a turn (and whose it is) before its first event arrives."""
        turn = self.turns.get(turn_id)
        if turn is None:
            turn = self.turns[turn_id] = TurnLog(turn_id, user_id, conversation_id)
            for waiter in self._expected.pop(turn_id, []):
                if not waiter.done():
                    waiter.set_result(None)
        return turn

    async def find(self, turn_id: uuid.UUID, *, wait: float) -> TurnLog | None:
        """The turn's log, waiting up to `wait` seconds for the hub to catch up or see it."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self.caught_up.wait()
                if turn_id not in self.turns:
                    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                    self._expected.setdefault(turn_id, []).append(waiter)
                    await waiter
        if turn_id not in self.turns:
            self._expected.pop(turn_id, None)
        return self.turns.get(turn_id)

    async def batches(
        self, turn: TurnLog, *, after: int, keepalive: float = 15.0
    ) -> AsyncIterator[list[StreamEvent]]:
        """The events with `seq > after`, in order, live, through the final one, as the lists
        that were ready together (an empty list: nothing for `keepalive` seconds).

        An event is only sent once every event before it has been, so a client never sees a
        gap; after the turn's end a missing delta is waited for `gap_grace` seconds, then
        skipped.
        """
        position = after
        skip_gaps = False
        while True:
            ready = turn.ready_after(position, skip_gaps=skip_gaps)
            if not ready:
                if turn.finished and position >= turn.last_seq:
                    return
                if turn.finished:
                    # Deltas and the turn's end travel on different topics: give a delta
                    # still on its way a moment, then send what there is.
                    skip_gaps = not await turn.changed(self.gap_grace)
                elif not await turn.changed(keepalive):
                    yield []
                continue
            yield ready
            position = ready[-1].seq
            if turn.final_seq is not None and position >= turn.final_seq:
                return

    def evict(self) -> None:
        now = time.monotonic()
        stale = [
            turn_id
            for turn_id, turn in self.turns.items()
            if (turn.finished_at is not None and now - turn.finished_at > self.retention)
            or (turn.finished_at is None and now - turn.created_at > 4 * self.retention)
        ]
        for turn_id in stale:
            del self.turns[turn_id]


async def _all_partitions(
    settings: KafkaSettings, topics: list[str], timeout: float = 30.0
) -> list[TopicPartition]:
    """Every partition of `topics`, waiting for the leaders of topics that were just created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        async with asyncio.timeout(timeout):
            while True:
                described = await admin.describe_topics(topics)
                found = {
                    t["topic"]: sorted(p["partition"] for p in t["partitions"])
                    for t in described
                    if t.get("error_code", 0) == 0
                    and t["partitions"]
                    and all(p.get("leader", -1) >= 0 for p in t["partitions"])
                }
                if set(found) >= set(topics):
                    return [TopicPartition(t, p) for t in topics for p in found[t]]
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


def _stream_event(
    payload: ChatTurnStarted
    | ChatTurnDelta
    | ChatTurnRestarted
    | ChatTurnCompleted
    | ChatTurnFailed,
    turn: TurnLog,
) -> StreamEvent:
    turn_id = str(payload.turn_id)
    if isinstance(payload, ChatTurnStarted):
        if payload.user_message_id:
            turn.user_message_id = payload.user_message_id
        return StreamEvent(
            STARTED_SEQ,
            "turn.started",
            {
                "turn_id": turn_id,
                "conversation_id": str(payload.conversation_id),
                "user_message_id": str(payload.user_message_id)
                if payload.user_message_id
                else None,
                "kind": payload.kind,
            },
        )
    if isinstance(payload, ChatTurnDelta):
        return StreamEvent(
            payload.seq, "delta", {"turn_id": turn_id, "seq": payload.seq, "text": payload.text}
        )
    if isinstance(payload, ChatTurnRestarted):
        return StreamEvent(
            payload.seq,
            "turn.restarted",
            {"turn_id": turn_id, "seq": payload.seq, "reason": payload.reason},
        )
    if isinstance(payload, ChatTurnCompleted):
        return StreamEvent(
            payload.deltas + 1,
            "turn.completed",
            {
                "turn_id": turn_id,
                "message": payload.message,
                "usage": payload.usage.model_dump(mode="json"),
            },
        )
    return StreamEvent(
        payload.deltas + 1,
        "turn.failed",
        {"turn_id": turn_id, "error": payload.error.model_dump(mode="json")},
    )
