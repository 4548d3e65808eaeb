"""A small HTTP/1.1 client for Server-Sent Event streams, on bare asyncio streams.

The load generator shares two cores with what it measures, so it must cost as little as it
can per event: no HTTP library, one connection per stream, chunked bodies decoded by hand.
It is the same client for every path, so none is favoured.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class SseEvent:
    at: float
    id: str | None
    event: str
    data: str


class HttpStatusError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status


async def stream_events(
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    timeout: float,
) -> AsyncIterator[SseEvent]:
    """POST `body` as JSON to `url` and yield the SSE events of the answer as they arrive."""
    parts = urlsplit(url)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, parts.port or 80), timeout
    )
    try:
        payload = json.dumps(body).encode()
        head = [
            f"POST {parts.path or '/'} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Accept: text/event-stream",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            "Connection: close",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status, response_headers = await asyncio.wait_for(_read_head(reader), timeout)
        chunks = _body(reader, response_headers)
        if status >= 400:
            text = b"".join([c async for c in chunks]).decode(errors="replace")
            raise HttpStatusError(status, text)
        async for event in _events(chunks):
            yield event
    finally:
        writer.close()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection before answering")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> AsyncIterator[bytes]:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return
            data = await reader.readexactly(size + 2)
            yield data[:-2]
    elif "content-length" in headers:
        yield await reader.readexactly(int(headers["content-length"]))
    else:
        while chunk := await reader.read(65536):
            yield chunk


async def _events(chunks: AsyncIterator[bytes]) -> AsyncIterator[SseEvent]:
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        while True:
            end = buffer.find(b"\n\n")
            if end < 0:
                break
            block, buffer = buffer[:end], buffer[end + 2 :]
            event = _parse(block.decode())
            if event is not None:
                yield event


def _parse(block: str) -> SseEvent | None:
    event_id: str | None = None
    name = "message"
    data: list[str] = []
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "id":
            event_id = value
        elif field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if not data:
        return None
    return SseEvent(time.perf_counter(), event_id, name, "\n".join(data))
