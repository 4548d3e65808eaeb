"""Round-trip probe answered by every service: `system.ping` in, `system.pong` out.

Operators use it (`roleplay ping`) to prove that each service consumes, commits and publishes
through the real broker; tests use it to prove delivery and idempotency without any feature.
"""

from __future__ import annotations

from typing import ClassVar

from roleplay_common.events.envelope import Event


class Ping(Event):
    """Command: every service answers once with a `Pong`."""

    event_type: ClassVar[str] = "system.ping"
    topic: ClassVar[str] = "system.ping"

    probe_id: str

    def partition_key(self) -> str:
        return self.probe_id


class Pong(Event):
    """Fact: `service` processed the ping `probe_id` (exactly once per ping event)."""

    event_type: ClassVar[str] = "system.pong"
    topic: ClassVar[str] = "system.pong"

    probe_id: str
    service: str
    ping_event_id: str

    def partition_key(self) -> str:
        return self.probe_id
