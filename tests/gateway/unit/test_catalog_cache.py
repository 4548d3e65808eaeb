"""The catalog cache: one load per key for a crowd of misses, errors never cached."""

from __future__ import annotations

import asyncio

import pytest

from roleplay_gateway.catalog.cache import CatalogCache


async def test_concurrent_misses_share_one_load() -> None:
    cache = CatalogCache(ttl_seconds=60)
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return "routes"

    results = await asyncio.gather(*(cache.get("k", load) for _ in range(50)))
    assert results == ["routes"] * 50
    assert loads == 1
    assert await cache.get("k", load) == "routes"
    assert loads == 1


async def test_an_error_reaches_every_waiter_and_is_not_kept() -> None:
    cache = CatalogCache(ttl_seconds=60)
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("database down")

    results = await asyncio.gather(
        *(cache.get("k", failing) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert calls == 1

    async def working() -> str:
        return "fresh"

    assert await cache.get("k", working) == "fresh"


async def test_a_waiter_loads_for_itself_when_the_loading_request_goes_away() -> None:
    cache = CatalogCache(ttl_seconds=60)
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(10)
        return "never"

    async def quick() -> str:
        return "own"

    loader = asyncio.create_task(cache.get("k", slow))
    await started.wait()
    waiter = asyncio.create_task(cache.get("k", quick))
    await asyncio.sleep(0)
    loader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loader
    assert await waiter == "own"
