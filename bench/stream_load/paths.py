"""The three paths a streamed reply can take, each measured the same way.

- `system`: a turn through the gateway (`POST /v1/conversations/{id}/messages` as SSE), Kafka,
  the chat service, the stand-in, and back.
- `direct`: the same streaming chat completion sent straight to the stand-in.
- `litellm`: the same request through a LiteLLM proxy in front of the same stand-in.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.stream_load.sse_client import stream_events

TIMEOUT = 300.0


@dataclass
class StreamResult:
    started: float
    first_delta: float | None = None
    ended: float | None = None
    text: str = ""
    seqs: list[int] = field(default_factory=list)
    completed: bool = False
    stored_text: str | None = None
    error: str | None = None

    @property
    def ttfd(self) -> float | None:
        return None if self.first_delta is None else self.first_delta - self.started

    def problems(self, *, check_seq: bool) -> list[str]:
        """What is wrong with this stream, if anything."""
        if self.error:
            return [self.error]
        found = []
        if not self.completed:
            found.append("did not complete")
        if check_seq and self.seqs != list(range(1, len(self.seqs) + 1)):
            found.append("seq not contiguous")
        if self.stored_text is not None and self.stored_text != self.text:
            found.append("deltas differ from the stored reply")
        if not self.text:
            found.append("no text")
        return found


class Path(Protocol):
    name: str
    check_seq: bool

    async def stream(self, n: int) -> StreamResult: ...


def _prompt(n: int) -> list[dict[str, str]]:
    return [
        {
            "role": "system",
            "content": "You are Aria, a witty starship navigator. Stay in character.",
        },
        {"role": "user", "content": f"load test message {n}: what do you see out there?"},
    ]


@dataclass
class SystemPath:
    """Turns through the gateway; conversation `n % len(conversations)` of its user."""

    gateway: str
    conversations: list[tuple[str, str]]  # (bearer token, conversation id)
    name: str = "system"
    check_seq: bool = True

    async def stream(self, n: int) -> StreamResult:
        token, conversation_id = self.conversations[n % len(self.conversations)]
        result = StreamResult(started=time.perf_counter())
        try:
            async for event in stream_events(
                f"{self.gateway}/v1/conversations/{conversation_id}/messages",
                {"content": f"load test message {n}: what do you see out there?"},
                {"Authorization": f"Bearer {token}"},
                timeout=TIMEOUT,
            ):
                if event.event == "delta":
                    data = json.loads(event.data)
                    if result.first_delta is None and data["text"]:
                        result.first_delta = event.at
                    result.seqs.append(data["seq"])
                    result.text += data["text"]
                elif event.event == "turn.completed":
                    result.completed = True
                    result.stored_text = json.loads(event.data)["message"]["content"]
                    break
                elif event.event == "turn.failed":
                    result.error = f"turn.failed: {json.loads(event.data)['error']['code']}"
                    break
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:300]
        result.ended = time.perf_counter()
        return result


@dataclass
class CompletionsPath:
    """OpenAI-compatible streaming chat completions at `base_url` (the stand-in or LiteLLM)."""

    name: str
    base_url: str
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    check_seq: bool = False

    async def stream(self, n: int) -> StreamResult:
        result = StreamResult(started=time.perf_counter())
        body: dict[str, Any] = {"model": self.model, "messages": _prompt(n), "stream": True}
        try:
            async for event in stream_events(
                f"{self.base_url}/v1/chat/completions", body, self.headers, timeout=TIMEOUT
            ):
                if event.data.strip() == "[DONE]":
                    result.completed = True
                    break
                chunk = json.loads(event.data)
                for choice in chunk.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        if result.first_delta is None:
                            result.first_delta = event.at
                        result.text += text
                        result.seqs.append(len(result.seqs) + 1)
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:300]
        result.ended = time.perf_counter()
        return result
