"""Hour and day buckets (UTC) of a call's time."""

from __future__ import annotations

from datetime import UTC, datetime

KINDS = ("hour", "day")


def bucket_start(at: datetime, kind: str) -> datetime:
    at = at.astimezone(UTC)
    if kind == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)
