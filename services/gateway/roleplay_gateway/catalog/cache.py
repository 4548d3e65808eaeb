"""A short-lived in-process cache of what every turn reads from the catalog.

Routes and prompt templates change rarely (admin edits) but are read on every turn; caching
them for a few seconds (`GATEWAY_CATALOG_CACHE_SECONDS`) takes several queries off the path to
the first token. Admin writes on this instance clear it at once; other instances see a change
within the TTL. Errors are never cached. Concurrent misses of one key share one load: a
crowd arriving after the TTL ran out makes one query, not one each.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class CatalogCache:
    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._loading: dict[Hashable, asyncio.Future[Any]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        if self.ttl <= 0:
            return await load()
        hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            value: T = hit[1]
            return value
        pending = self._loading.get(key)
        if pending is not None:
            try:
                shared: T = await asyncio.shield(pending)
                return shared
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise
                # The request that was loading went away; this one loads for itself.
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, no "never retrieved" warning
            raise
        else:
            self._entries[key] = (time.monotonic(), value)
            future.set_result(value)
            return value
        finally:
            if self._loading.get(key) is future:
                del self._loading[key]

    def clear(self) -> None:
        self._entries.clear()
