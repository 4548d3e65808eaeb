"""Rebuilding aggregates from the logs: the logs are the truth, the aggregates a projection.

The range is widened to whole UTC days (a day row needs its whole day). Each day is one
transaction: its hour and day rows are deleted and recomputed from the logs with the same
bucket rules as the live path, so the result equals the incrementally maintained aggregates.
Live ingest waits while a day is rebuilt, and resumes on the rebuilt rows (see
`store.rebuild_day`); a day at a time keeps that wait short however long the range.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from roleplay_common.db import Database
from roleplay_usage import store
from roleplay_usage.domain.buckets import whole_days


async def rebuild(
    db: Database,
    start: datetime,
    end: datetime,
    progress: Callable[[datetime], None] | None = None,
) -> int:
    """Recompute the aggregates of every day touching [start, end); returns the days rebuilt."""
    days = whole_days(start, end)
    for day in days:
        async with db.transaction() as session:
            await store.rebuild_day(session, day)
        if progress:
            progress(day)
    return len(days)
