"""Model routing for a turn: try each route in order, retry with backoff, fall back.

The routes come with the command, in order (requested model, the task's default, the rest by
priority). A retryable failure (429, 5xx, timeout, cut-off before any text) is retried on the
same model with exponential backoff, then the next model is tried. Local workers whose health
check failed are skipped. Once text has reached the client, a failure cannot be hidden by
switching models, so it ends the turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from roleplay_chat.providers.errors import ProviderError
from roleplay_chat.providers.openai_compatible import StreamEnd, StreamEvent, TextDelta
from roleplay_chat.worker_health import WorkerHealth
from roleplay_common.events import ModelRoute


@dataclass
class Attempt:
    """One provider call, for usage accounting."""

    route: ModelRoute
    started: float
    latency_ms: int = 0
    first_token_ms: int | None = None
    ok: bool = False
    error: ProviderError | None = None
    text: str = ""
    end: StreamEnd | None = None


@dataclass
class RoutedReply:
    route: ModelRoute
    text: str
    end: StreamEnd
    attempts: list[Attempt] = field(default_factory=list)


class TurnFailedError(Exception):
    def __init__(self, code: str, message: str, attempts: list[Attempt]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.attempts = attempts


Stream = Callable[[ModelRoute], AsyncIterator[StreamEvent]]
OnText = Callable[[str], Awaitable[None]]


async def stream_with_fallback(
    routes: list[ModelRoute],
    stream: Stream,
    on_text: OnText,
    *,
    health: WorkerHealth,
    retries: int,
    backoff: float,
    max_backoff: float = 8.0,
) -> RoutedReply:
    attempts: list[Attempt] = []
    last: ProviderError | None = None
    for route in routes:
        if not await health.is_usable(route):
            continue
        for n in range(retries + 1):
            attempt = Attempt(route=route, started=time.monotonic())
            attempts.append(attempt)
            try:
                async for event in stream(route):
                    if isinstance(event, TextDelta):
                        if attempt.first_token_ms is None:
                            attempt.first_token_ms = _ms_since(attempt.started)
                        attempt.text += event.text
                        await on_text(event.text)
                    else:
                        attempt.end = event
            except ProviderError as exc:
                attempt.latency_ms = _ms_since(attempt.started)
                attempt.error = last = exc
                if attempt.text:
                    raise TurnFailedError(
                        "stream_interrupted",
                        f"the reply broke off: {exc.message}",
                        attempts,
                    ) from exc
                if not exc.retryable or n == retries:
                    break
                delay = min(backoff * 2**n, max_backoff)
                await asyncio.sleep(max(delay, min(exc.retry_after or 0.0, max_backoff)))
                continue
            attempt.latency_ms = _ms_since(attempt.started)
            attempt.ok = True
            assert attempt.end is not None
            return RoutedReply(route=route, text=attempt.text, end=attempt.end, attempts=attempts)
    if last is None:
        raise TurnFailedError("no_model_available", "no model is available for this turn", attempts)
    raise TurnFailedError(last.code, last.message, attempts)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
