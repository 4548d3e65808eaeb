"""Publishing a reply as it streams: the first text at once, then one record per window.

Providers send a token every few milliseconds; a Kafka record, an SSE event and a client
repaint per token cost far more than the token is worth. `ReplyStream` sends the first text
the moment it arrives (time to first word is what people feel), then gathers what follows
for a window into one `chat.turn.delta` record. Every record gets the next `seq`, so readers
see contiguous numbers and the same text. The window is `DeltaPacing`'s: a few tens of
milliseconds, longer when so many replies stream at once that the process would otherwise
send more records than its budget (each record costs the same at every reader, whatever
text it carries).

Records go through `TurnStreamProducer`, a producer of the service's own (acks=all,
idempotent) without FastStream's per-message middleware; they are sent without waiting for
each acknowledgement, in order, and `finish` confirms every one (re-sending any the broker
did not take) before the turn's end may be published.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from roleplay_common.events.chat import ChatTurnRestarted
from roleplay_common.events.turn_stream import RESTARTED_TYPE, DeltaEncoder
from roleplay_common.logging import get_logger
from roleplay_common.settings import KafkaSettings

log = get_logger(__name__)


class TurnStreamProducer:
    """The chat service's producer for the records of streaming turns."""

    def __init__(self, settings: KafkaSettings, *, client_id: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            client_id=f"{client_id}-turn-stream",
            acks="all",
            enable_idempotence=True,
            linger_ms=settings.linger_ms,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def partition_of(self, topic: str, key: bytes) -> int:
        """The partition this producer writes `key`'s records of `topic` to."""
        partitions = sorted(await self._producer.partitions_for(topic))
        return int(DefaultPartitioner()(key, partitions, partitions))

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[Any]:
        """Append the record to its partition's batch; the future resolves on the ack."""
        future: asyncio.Future[Any] = await self._producer.send(
            topic, value=value, key=key, headers=headers
        )
        return future


class DeltaPacing:
    """The window of every reply streaming in one process: `base` seconds, or longer when
    more replies stream than `records_per_second * base` can carry, so that together they
    send about `records_per_second` records (0: no budget); never longer than `ceiling`."""

    def __init__(self, base: float, *, records_per_second: float = 0, ceiling: float = 0) -> None:
        self.base = base
        self.records_per_second = records_per_second
        self.ceiling = max(ceiling, base)
        self.streams = 0

    def window(self) -> float:
        if self.records_per_second <= 0:
            return self.base
        return min(max(self.base, self.streams / self.records_per_second), self.ceiling)


class ReplyStream:
    def __init__(
        self,
        producer: TurnStreamProducer,
        topic: str,
        encoder: DeltaEncoder,
        *,
        window: float | DeltaPacing,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.encoder = encoder
        self.pacing = window if isinstance(window, DeltaPacing) else DeltaPacing(window)
        self.pacing.streams += 1
        self._counted = True
        self.seq = 0
        self._text_sent = False
        self._headers = encoder.headers()
        self._buffer: list[str] = []
        self._last_sent = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._sent: list[tuple[bytes, list[tuple[str, bytes]], asyncio.Future[Any]]] = []
        self._loop = asyncio.get_running_loop()

    @property
    def records(self) -> int:
        """How many delta records were sent (the `seq` of the last one)."""
        return self.seq

    async def restart(self, after: int, reason: str) -> None:
        """Continue a turn another instance began: its records went up to `after`, so this
        one says the reply starts over (`after + 1`) and its deltas follow from there."""
        async with self._lock:
            self.seq = after + 1
            value = self.encoder.encode_restart(self.seq, reason)
            headers = [
                ("event-type", RESTARTED_TYPE.encode()),
                ("event-version", str(ChatTurnRestarted.event_version).encode()),
            ]
            future = await self.producer.send(self.topic, self.encoder.key, value, headers)
            self._sent.append((value, headers, future))

    @property
    def window(self) -> float:
        return self.pacing.window()

    def _uncount(self) -> None:
        if self._counted:
            self._counted = False
            self.pacing.streams -= 1

    async def add(self, text: str) -> None:
        self._buffer.append(text)
        window = self.window
        if self._loop.time() - self._last_sent >= window or not self._text_sent:
            await self._send_buffer()
        elif self._timer is None:
            delay = self._last_sent + window - self._loop.time()
            self._timer = self._loop.call_later(max(delay, 0.0), self._flush_later)

    def _flush_later(self) -> None:
        self._timer = None
        task = self._loop.create_task(self._send_buffer())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _send_buffer(self) -> None:
        async with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self._buffer:
                return
            text = "".join(self._buffer)
            self._buffer.clear()
            self.seq += 1
            self._text_sent = True
            value = self.encoder.encode(self.seq, text)
            self._last_sent = self._loop.time()
            future = await self.producer.send(self.topic, self.encoder.key, value, self._headers)
            self._sent.append((value, self._headers, future))

    async def finish(self) -> int:
        """Send what is buffered and confirm every record; returns how many were sent."""
        self._uncount()
        await self._send_buffer()
        await asyncio.gather(*self._flushes)
        results = await asyncio.gather(*(f for _, _, f in self._sent), return_exceptions=True)
        if any(isinstance(r, BaseException) for r in results):
            log.warning("re-sending deltas the broker did not acknowledge", records=len(results))
            for value, headers, _ in self._sent:
                future = await self.producer.send(self.topic, self.encoder.key, value, headers)
                await future
        return self.seq

    def abandon(self) -> None:
        """Stop any pending flush (the turn is being torn down)."""
        self._uncount()
        if self._timer is not None:
            self._timer.cancel()
        for task in self._flushes:
            task.cancel()
