"""Publishing a reply as it streams: the first text at once, then one record per window.

Providers send a token every few milliseconds; a Kafka record, an SSE event and a client
repaint per token cost far more than the token is worth. `ReplyStream` sends the first text
the moment it arrives (time to first word is what people feel), then gathers what follows
for `window` seconds into one `chat.turn.delta` record. Every record gets the next `seq`, so
readers see contiguous numbers and the same text.

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


class ReplyStream:
    def __init__(
        self,
        producer: TurnStreamProducer,
        topic: str,
        encoder: DeltaEncoder,
        *,
        window: float,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.encoder = encoder
        self.window = window
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

    async def add(self, text: str) -> None:
        self._buffer.append(text)
        if self._loop.time() - self._last_sent >= self.window or not self._text_sent:
            await self._send_buffer()
        elif self._timer is None:
            delay = self._last_sent + self.window - self._loop.time()
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
        if self._timer is not None:
            self._timer.cancel()
        for task in self._flushes:
            task.cancel()
