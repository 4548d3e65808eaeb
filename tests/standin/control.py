"""Driving the STAND-IN at runtime from a test: knobs, recorded requests, SSE lines."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


async def configure(client: httpx.AsyncClient, **knobs: Any) -> dict[str, Any]:
    response = await client.post("/_standin/config", json=knobs)
    response.raise_for_status()
    config: dict[str, Any] = response.json()
    return config


async def recorded(client: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    response = await client.get("/_standin/requests", params=filters)
    response.raise_for_status()
    seen: list[dict[str, Any]] = response.json()
    return seen


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 5.0) -> T:
    """Poll `check()` (async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def sse_data(text: str) -> list[str]:
    """The `data:` payloads of an SSE body, in order."""
    return [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]


def sse_chunks(text: str) -> list[dict[str, Any]]:
    """The JSON chunks of an SSE body (everything but `[DONE]`)."""
    return [json.loads(d) for d in sse_data(text) if d != "[DONE]"]
