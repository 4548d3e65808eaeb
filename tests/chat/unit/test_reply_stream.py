"""A reply is sent as its first text at once, then one record per window, seq contiguous."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from roleplay_chat.reply_stream import DeltaPacing, ReplyStream, TurnStreamProducer
from roleplay_common.events.turn_stream import DeltaEncoder


class RecordingProducer(TurnStreamProducer):
    """Keeps the records instead of sending them; acknowledges each at once, or fails the
    first `fail` acknowledgements."""

    def __init__(self, fail: int = 0) -> None:
        self.records: list[tuple[float, dict[str, Any]]] = []
        self.fail = fail

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[Any]:
        self.records.append((asyncio.get_running_loop().time(), json.loads(value)))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail > 0:
            self.fail -= 1
            future.set_exception(ConnectionError("broker went away"))
        else:
            future.set_result(None)
        return future


def encoder() -> DeltaEncoder:
    return DeltaEncoder(
        turn_id=str(uuid.uuid4()),
        conversation_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        producer="chat",
        correlation_id="c",
    )


async def test_the_first_text_goes_out_at_once_and_the_rest_is_gathered_per_window() -> None:
    producer = RecordingProducer()
    stream = ReplyStream(producer, "t", encoder(), window=0.05)
    tokens = [f"w{n} " for n in range(20)]
    await stream.add(tokens[0])
    assert len(producer.records) == 1  # not held back for the window
    for token in tokens[1:]:
        await asyncio.sleep(0.005)
        await stream.add(token)
    sent = await stream.finish()
    texts = [r["data"]["text"] for _, r in producer.records]
    assert "".join(texts) == "".join(tokens)
    assert [r["data"]["seq"] for _, r in producer.records] == list(range(1, sent + 1))
    assert 2 <= sent < len(tokens)  # gathered, ~100 ms of tokens in 50 ms windows


async def test_text_left_in_a_window_is_sent_when_the_provider_pauses() -> None:
    producer = RecordingProducer()
    stream = ReplyStream(producer, "t", encoder(), window=0.03)
    await stream.add("Hello")
    await stream.add(", there")
    assert len(producer.records) == 1
    await asyncio.sleep(0.08)  # the provider is quiet: the window's text must not wait
    assert [r["data"]["text"] for _, r in producer.records] == ["Hello", ", there"]
    assert await stream.finish() == 2


async def test_a_zero_window_sends_every_chunk() -> None:
    producer = RecordingProducer()
    stream = ReplyStream(producer, "t", encoder(), window=0.0)
    for token in ("a", "b", "c"):
        await stream.add(token)
    assert await stream.finish() == 3


async def test_records_the_broker_did_not_acknowledge_are_sent_again_in_order() -> None:
    producer = RecordingProducer(fail=1)
    stream = ReplyStream(producer, "t", encoder(), window=0.0)
    for token in ("a", "b"):
        await stream.add(token)
    await stream.finish()
    assert [r["data"]["seq"] for _, r in producer.records] == [1, 2, 1, 2]


async def test_many_replies_at_once_stretch_the_window_within_the_budget() -> None:
    pacing = DeltaPacing(0.04, records_per_second=100, ceiling=0.25)
    producer = RecordingProducer()
    streams = [ReplyStream(producer, "t", encoder(), window=pacing) for _ in range(3)]
    assert pacing.window() == 0.04  # 3 replies at 25 records/s each fit the budget
    streams += [ReplyStream(producer, "t", encoder(), window=pacing) for _ in range(17)]
    assert pacing.window() == 0.2  # 20 replies share 100 records/s
    streams += [ReplyStream(producer, "t", encoder(), window=pacing) for _ in range(80)]
    assert pacing.window() == 0.25  # never past the ceiling
    for stream in streams[:90]:
        await stream.finish()
    streams[90].abandon()
    streams[90].abandon()  # counted out once
    assert pacing.streams == 9 and pacing.window() == 0.09
    for stream in streams[91:]:
        await stream.finish()
    assert pacing.streams == 0 and pacing.window() == 0.04


async def test_a_stretched_window_still_sends_the_first_text_at_once_and_all_of_it() -> None:
    pacing = DeltaPacing(0.01, records_per_second=1, ceiling=0.2)
    producer = RecordingProducer()
    others = [ReplyStream(RecordingProducer(), "t", encoder(), window=pacing) for _ in range(5)]
    stream = ReplyStream(producer, "t", encoder(), window=pacing)
    await stream.add("Hello")
    assert len(producer.records) == 1
    for token in (",", " there", ", friend"):
        await asyncio.sleep(0.02)
        await stream.add(token)
    assert len(producer.records) == 1  # a 10 ms window would have sent these by now
    assert await stream.finish() == 2
    assert "".join(r["data"]["text"] for _, r in producer.records) == "Hello, there, friend"
    for other in others:
        await other.finish()
