"""How many streams run at once, per model, as the catalog says the model allows.

A turn waits here only for its own model's capacity (`max_concurrent_streams` on the route),
after its `turn.started` went out, so a person sees the turn accepted at once and no model's
crowd delays another's. A changed limit applies to streams that start after the change.
"""

from __future__ import annotations

import asyncio

from prometheus_client import Gauge

from roleplay_common.events import ModelRoute

WAITING = Gauge(
    "roleplay_chat_streams_waiting", "Turns waiting for their model's capacity.", ["model"]
)


class StreamLimits:
    def __init__(self) -> None:
        self._gates: dict[str, tuple[int, asyncio.Semaphore]] = {}

    def gate(self, route: ModelRoute) -> asyncio.Semaphore:
        limit = route.max_concurrent_streams
        current = self._gates.get(route.model_key)
        if current is None or current[0] != limit:
            current = self._gates[route.model_key] = (limit, asyncio.Semaphore(limit))
        return current[1]

    def waiting(self, route: ModelRoute) -> Gauge:
        return WAITING.labels(route.model_key)
