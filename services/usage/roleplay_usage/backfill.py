"""Rebuilding aggregates from the logs: the logs are the truth, aggregates a projection.

The range is widened to whole days (day buckets must be whole), then, per day and in one
transaction each, that day's hour and day rows are deleted and recomputed with SQL from the
logs — counting latencies with `width_bucket` on the same bounds as the live path, so the
result equals the incrementally maintained aggregates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from roleplay_common.db import Database
from roleplay_usage.domain import histogram
from roleplay_usage.store import SCHEMA


def whole_days(start: datetime, end: datetime) -> list[datetime]:
    first = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = []
    day = first
    while day < end.astimezone(UTC):
        days.append(day)
        day += timedelta(days=1)
    return days


def _rebuild_sql(kind: str) -> sa.TextClause:
    bounds = "array[" + ",".join(str(b) for b in histogram.BOUNDS) + "]::int[]"
    counts = ", ".join(
        f"count(*) filter (where width_bucket(latency_ms, {bounds}) = {i})"
        for i in range(histogram.SIZE)
    )
    return sa.text(
        f"""
        insert into {SCHEMA}.usage_aggregates (bucket_kind, bucket_start, provider, model,
            requests, successes, errors, tokens_in, tokens_out, cost, latency_sum_ms,
            latency_hist)
        select '{kind}', date_trunc('{kind}', occurred_at, 'UTC'), provider, model,
            count(*), count(*) filter (where status = 'success'),
            count(*) filter (where status <> 'success'),
            sum(tokens_in), sum(tokens_out), sum(cost_in + cost_out), sum(latency_ms),
            array[{counts}]::bigint[]
        from {SCHEMA}.usage_logs
        where occurred_at >= :start and occurred_at < :end
        group by 2, provider, model
        """
    )


async def rebuild(
    db: Database,
    start: datetime,
    end: datetime,
    progress: Callable[[datetime], None] | None = None,
) -> int:
    """Recompute the aggregates of every day touching [start, end); returns days rebuilt."""
    days = whole_days(start, end)
    for day in days:
        window = {"start": day, "end": day + timedelta(days=1)}
        async with db.transaction() as session:
            await session.execute(
                sa.text(
                    f"delete from {SCHEMA}.usage_aggregates "
                    "where bucket_start >= :start and bucket_start < :end"
                ),
                window,
            )
            for kind in ("hour", "day"):
                await session.execute(_rebuild_sql(kind), window)
        if progress:
            progress(day)
    return len(days)
