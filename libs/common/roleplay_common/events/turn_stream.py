"""The hot path of a streamed reply: turn delta records without pydantic.

A reply is many small records, so they are written and read with the standard `json` module
rather than validated models. The bytes are an ordinary `EventEnvelope` of a
`ChatTurnDelta`: any consumer, replay tool or test can still read them the usual way, and a
test checks they validate to the same envelope.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from roleplay_common.events.chat import ChatTurnDelta, ChatTurnRestarted

DELTA_TYPE = ChatTurnDelta.event_type
RESTARTED_TYPE = ChatTurnRestarted.event_type
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True)
class DeltaEncoder:
    """Encodes the deltas of one turn; the constant fields are fixed once per turn."""

    turn_id: str
    conversation_id: str
    user_id: str
    producer: str
    correlation_id: str
    causation_id: str | None = None
    traceparent: str | None = None

    @property
    def key(self) -> bytes:
        return self.conversation_id.encode()

    def encode(self, seq: int, text: str) -> bytes:
        return self._envelope(DELTA_TYPE, ChatTurnDelta.event_version, seq=seq, text=text)

    def encode_restart(self, seq: int, reason: str) -> bytes:
        """A `chat.turn.restarted` record: the reply starts over after `seq - 1`."""
        return self._envelope(
            RESTARTED_TYPE, ChatTurnRestarted.event_version, seq=seq, reason=reason
        )

    def _envelope(self, event_type: str, version: int, **data: Any) -> bytes:
        return _dumps(
            {
                "id": str(uuid.uuid4()),
                "type": event_type,
                "version": version,
                "occurred_at": datetime.now(UTC).isoformat(),
                "producer": self.producer,
                "key": self.conversation_id,
                "correlation_id": self.correlation_id,
                "causation_id": self.causation_id,
                "traceparent": self.traceparent,
                "data": {
                    "turn_id": self.turn_id,
                    "conversation_id": self.conversation_id,
                    "user_id": self.user_id,
                    **data,
                },
            }
        ).encode()

    def headers(self) -> list[tuple[str, bytes]]:
        headers = [
            ("event-type", DELTA_TYPE.encode()),
            ("event-version", str(ChatTurnDelta.event_version).encode()),
        ]
        if self.traceparent:
            headers.append(("traceparent", self.traceparent.encode()))
        return headers


@dataclass(frozen=True)
class DeltaRecord:
    turn_id: uuid.UUID
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    seq: int
    text: str


def read_delta(envelope: dict[str, Any]) -> DeltaRecord | None:
    """The delta in a decoded envelope, or None when it is not a well-formed one."""
    try:
        data = envelope["data"]
        seq, text = data["seq"], data["text"]
        if not isinstance(seq, int) or not isinstance(text, str) or seq < 1:
            return None
        return DeltaRecord(
            uuid.UUID(data["turn_id"]),
            uuid.UUID(data["conversation_id"]),
            uuid.UUID(data["user_id"]),
            seq,
            text,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
