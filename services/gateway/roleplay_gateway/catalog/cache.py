"""A short-lived in-process cache of what every turn reads from the catalog.

Routes and prompt templates change rarely (admin edits) but are read on every turn; caching
them for a few seconds (`GATEWAY_CATALOG_CACHE_SECONDS`) takes several queries off the path to
the first token. Admin writes on this instance clear it at once; other instances see a change
within the TTL. Errors are never cached.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class CatalogCache:
    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        if self.ttl > 0:
            hit = self._entries.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                value: T = hit[1]
                return value
        value = await load()
        self._entries[key] = (time.monotonic(), value)
        return value

    def clear(self) -> None:
        self._entries.clear()
