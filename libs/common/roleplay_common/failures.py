"""Transient or poison: how a consumer treats a handler's exception.

A *transient* error says infrastructure is away for a while (PostgreSQL or Kafka not
answering, a connection reset, a timeout): retrying the same event later will work, so the
consumer pauses its partition and retries with a growing, capped delay, for as long as the
outage lasts. It never dead-letters for that, and since it holds the event it does not move
past it, so the partition's order is kept.

Any other exception is a *poison* failure (a bug, a payload the handler refuses): after a
bounded number of tries the event goes to `dlq.<service>`.

The classification is by exception type, along the exception's chain (`outages.outage_of`,
which also knows SQLAlchemy's and asyncpg's wrappers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter

from roleplay_common.logging import get_logger
from roleplay_common.outages import outage_of

log = get_logger(__name__)

TRANSIENT_PAUSES = Counter(
    "roleplay_events_transient_pauses_total",
    "Pauses of a consumer on an event after a transient (infrastructure) error.",
    ["service", "consumer", "dependency"],
)

TRANSIENT_BACKOFF_FIRST = 0.2
TRANSIENT_BACKOFF_MAX = 30.0


def transient_cause(exc: BaseException) -> str | None:
    """Which dependency a transient error reports (`database`, `broker`, `network`,
    `timeout`), or None for an error that retrying the same event will not cure."""
    if isinstance(exc, PermissionError):
        return None  # an OSError, but no outage: it will fail the same way again
    if found := outage_of(exc):
        return found
    current: BaseException | None = exc
    for _ in range(16):
        if current is None:
            break
        if isinstance(current, TimeoutError | ConnectionError):
            return "timeout"
        current = current.__cause__ or current.__context__
    return None


def transient_delay(
    pauses: int, *, first: float = TRANSIENT_BACKOFF_FIRST, cap: float = TRANSIENT_BACKOFF_MAX
) -> float:
    """Seconds to wait before retry number `pauses + 1` after a transient error: doubling from
    `first`, never more than `cap`."""
    return float(min(first * 2 ** min(pauses, 30), cap))


def poison_delay(attempt: int) -> float:
    """Pause between the bounded tries of a deterministic failure."""
    return float(min(0.2 * 2 ** (attempt - 1), 5.0))


def record_position(message: Any, index: int | None = None) -> tuple[int, int] | None:
    """(partition, offset) of the record behind a FastStream message (of its `index`th
    record in a batch), when it came from Kafka."""
    raw = getattr(message, "raw_message", None)
    if index is not None and isinstance(raw, tuple | list):
        raw = raw[index] if index < len(raw) else None
    partition, offset = getattr(raw, "partition", None), getattr(raw, "offset", None)
    if isinstance(partition, int) and isinstance(offset, int):
        return partition, offset
    return None


async def call_with_retries(
    call: Callable[[], Awaitable[None]],
    *,
    service: str,
    consumer: str,
    retries: int,
) -> tuple[BaseException, int] | None:
    """Run a handler call until it succeeds; None then. A transient error pauses and retries
    without counting a try; another error counts, and after `retries` of them the last one
    is returned with the number of tries."""
    attempt = pauses = 0
    while True:
        try:
            await call()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            dependency = transient_cause(exc)
            if dependency is not None:
                TRANSIENT_PAUSES.labels(service, consumer, dependency).inc()
                delay = transient_delay(pauses)
                pauses += 1
                log.warning(
                    "transient error: pausing and retrying",
                    consumer=consumer,
                    dependency=dependency,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in=delay,
                )
                await asyncio.sleep(delay)
                continue
            attempt += 1
            log.warning("handler failed", consumer=consumer, attempt=attempt, exc_info=True)
            if attempt >= retries:
                return exc, attempt
            await asyncio.sleep(poison_delay(attempt))
        else:
            return None
