"""A small Server-Sent Events reader for tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    id: str | None
    name: str
    data: dict[str, Any]


async def events(response: httpx.Response) -> AsyncIterator[Event]:
    """Events as they arrive; comment lines (keep-alives) are skipped."""
    event_id: str | None = None
    name = "message"
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield Event(event_id, name, json.loads("\n".join(data)))
            event_id, name, data = None, "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


async def collect(response: httpx.Response, *, stop_after: str = "turn.") -> list[Event]:
    """Every event until a terminal one (`turn.completed` / `turn.failed`)."""
    seen = []
    async for event in events(response):
        seen.append(event)
        if event.name in ("turn.completed", "turn.failed"):
            break
    return seen
