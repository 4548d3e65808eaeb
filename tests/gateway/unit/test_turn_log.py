"""A turn's events in the hub: in order, without gaps while it runs, copies dropped."""

from __future__ import annotations

import asyncio
import uuid

from roleplay_common.settings import KafkaSettings
from roleplay_gateway.turns.stream_hub import StreamEvent, TurnLog, TurnStreamHub


def delta(seq: int) -> StreamEvent:
    return StreamEvent(seq, "delta", {"seq": seq, "text": f"t{seq}"})


def new_turn() -> TurnLog:
    return TurnLog(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())


def test_a_running_turn_gives_only_events_without_a_gap_before_them() -> None:
    turn = new_turn()
    turn.add(StreamEvent(0, "turn.started", {}))
    for seq in (1, 2, 4):
        turn.add(delta(seq))
    assert [e.seq for e in turn.ready_after(-1)] == [0, 1, 2]
    turn.add(delta(3))
    assert [e.seq for e in turn.ready_after(2)] == [3, 4]
    turn.add(StreamEvent(3, "delta", {"seq": 3, "text": "a copy"}))
    assert turn.events[3].data["text"] == "t3"


def test_an_ended_turn_gives_everything_left_and_its_end_never_collides() -> None:
    turn = new_turn()
    for seq in (1, 2, 3):
        turn.add(delta(seq))
    turn.add(StreamEvent(2, "turn.failed", {"error": {}}))  # reported fewer deltas than sent
    assert turn.final_seq == 4
    assert [e.name for e in turn.ready_after(0)] == ["delta", "delta", "delta", "turn.failed"]
    turn.add(delta(5))
    assert 5 not in turn.events


async def test_a_reader_wakes_when_an_event_arrives_and_times_out_otherwise() -> None:
    turn = new_turn()
    assert await turn.changed(0.01) is False
    waiting = asyncio.create_task(turn.changed(5))
    await asyncio.sleep(0)
    turn.add(delta(1))
    assert await waiting is True


async def test_a_delta_that_arrives_after_the_end_is_still_sent_in_its_place() -> None:
    hub = TurnStreamHub(KafkaSettings(), topics=None)  # type: ignore[arg-type]
    turn = new_turn()
    turn.add(delta(1))
    turn.add(StreamEvent(3, "turn.completed", {}))  # deltas and the end travel apart
    reader = hub.batches(turn, after=0)
    late = asyncio.get_running_loop().call_later(0.05, turn.add, delta(2))
    assert [(e.seq, e.name) async for batch in reader for e in batch] == [
        (1, "delta"),
        (2, "delta"),
        (3, "turn.completed"),
    ]
    late.cancel()


async def test_a_delta_that_never_arrives_is_skipped_after_a_grace() -> None:
    hub = TurnStreamHub(KafkaSettings(), topics=None)  # type: ignore[arg-type]
    hub.gap_grace = 0.05
    turn = new_turn()
    turn.add(delta(1))
    turn.add(StreamEvent(3, "turn.completed", {}))
    seen = [e.seq async for batch in hub.batches(turn, after=0) for e in batch]
    assert seen == [1, 3]


def test_a_taken_over_turn_streams_its_restart_in_place() -> None:
    """A `chat.turn.restarted` record on the deltas topic becomes a `turn.restarted` event at
    its `seq`, between the first instance's deltas and the second's."""
    from roleplay_common.events.turn_stream import DeltaEncoder

    hub = TurnStreamHub(KafkaSettings(), topics=None)  # type: ignore[arg-type]
    turn_id, conversation_id, user_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    encoder = DeltaEncoder(
        turn_id=str(turn_id),
        conversation_id=str(conversation_id),
        user_id=str(user_id),
        producer="chat",
        correlation_id="c",
    )
    hub._apply(encoder.encode(1, "Once"))
    hub._apply(encoder.encode_restart(2, "instance_stopped"))
    hub._apply(encoder.encode(3, "Again"))
    events = hub.turns[turn_id].ready_after(0)
    assert [(e.seq, e.name) for e in events] == [
        (1, "delta"),
        (2, "turn.restarted"),
        (3, "delta"),
    ]
    assert events[1].data == {"turn_id": str(turn_id), "seq": 2, "reason": "instance_stopped"}
