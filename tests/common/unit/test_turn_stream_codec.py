"""Delta records written and read without pydantic are ordinary envelopes."""

from __future__ import annotations

import json
import uuid

from roleplay_common.events import ChatTurnDelta, EventEnvelope
from roleplay_common.events.turn_stream import DeltaEncoder, read_delta


def test_a_fast_delta_is_the_envelope_pydantic_would_read() -> None:
    turn, conversation, user, cause = (uuid.uuid4() for _ in range(4))
    encoder = DeltaEncoder(
        turn_id=str(turn),
        conversation_id=str(conversation),
        user_id=str(user),
        producer="chat",
        correlation_id="corr-1",
        causation_id=str(cause),
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    raw = encoder.encode(3, 'She smiles — "ünïcode" \n and quotes')
    envelope = EventEnvelope.model_validate_json(raw)
    payload = envelope.payload()
    assert payload == ChatTurnDelta(
        turn_id=turn,
        conversation_id=conversation,
        user_id=user,
        seq=3,
        text='She smiles — "ünïcode" \n and quotes',
    )
    assert envelope.key == str(conversation) == encoder.key.decode()
    assert envelope.causation_id == cause
    assert envelope.correlation_id == "corr-1"
    assert dict(encoder.headers())["event-type"] == b"chat.turn.delta"
    assert encoder.encode(3, "x") != encoder.encode(3, "x")  # every record has its own id

    delta = read_delta(json.loads(raw))
    assert delta is not None
    assert (delta.turn_id, delta.seq, delta.text) == (turn, 3, payload.text)


def test_a_malformed_delta_is_passed_over() -> None:
    good = json.loads(
        DeltaEncoder(
            turn_id=str(uuid.uuid4()),
            conversation_id=str(uuid.uuid4()),
            user_id=str(uuid.uuid4()),
            producer="chat",
            correlation_id="c",
        ).encode(1, "hi")
    )
    for broken in (
        {**good, "data": {**good["data"], "seq": "1"}},
        {**good, "data": {**good["data"], "seq": 0}},
        {**good, "data": {**good["data"], "turn_id": "not-a-uuid"}},
        {**good, "data": {**good["data"], "text": None}},
        {**good, "data": None},
        {"type": "chat.turn.delta"},
    ):
        assert read_delta(broken) is None
