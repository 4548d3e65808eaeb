"""Hour and day buckets (UTC) of a call's time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

BucketKind = Literal["hour", "day"]
KINDS: tuple[BucketKind, ...] = ("hour", "day")


def bucket_start(at: datetime, kind: BucketKind) -> datetime:
    at = at.astimezone(UTC)
    if kind == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def whole_days(start: datetime, end: datetime) -> list[datetime]:
    """The UTC days that [start, end) touches, as their midnights."""
    day = bucket_start(start, "day")
    days: list[datetime] = []
    if start >= end:
        return days
    while day < end:
        days.append(day)
        day += timedelta(days=1)
    return days
