"""Aggregate reports: bucket rows grouped by provider, model, day or hour, with percentiles.

Provider and model reports are read from hour rows (the finest grain, so any range is exact to
the hour); day and hour reports from their own rows, one line per bucket, provider and model.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from roleplay_usage.domain import histogram
from roleplay_usage.domain.aggregates import BucketKey, Totals
from roleplay_usage.domain.buckets import BucketKind

GroupBy = Literal["provider", "model", "day", "hour"]


class ReportLine(BaseModel):
    bucket_start: datetime | None = None
    provider: str
    model: str | None = None
    requests: int
    successes: int
    errors: int
    tokens_in: int
    tokens_out: int
    cost: Decimal
    latency_sum_ms: int
    latency_max_ms: int
    latency_avg_ms: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None


def rows_read_for(group_by: GroupBy) -> BucketKind:
    return "day" if group_by == "day" else "hour"


def report(rows: Iterable[tuple[BucketKey, Totals]], group_by: GroupBy) -> list[ReportLine]:
    """One line per group, ordered by bucket, provider, model."""
    groups: dict[tuple[datetime | None, str, str | None], Totals] = {}
    for (_kind, start, provider, model), totals in rows:
        key = (
            start if group_by in ("day", "hour") else None,
            provider,
            None if group_by == "provider" else model,
        )
        groups.setdefault(key, Totals()).merge(totals)
    return [
        _line(key, totals)
        for key, totals in sorted(groups.items(), key=lambda kv: tuple(str(k) for k in kv[0]))
    ]


def _line(key: tuple[datetime | None, str, str | None], t: Totals) -> ReportLine:
    start, provider, model = key
    hist, top = t.latency_hist, t.latency_max_ms
    return ReportLine(
        bucket_start=start,
        provider=provider,
        model=model,
        requests=t.requests,
        successes=t.successes,
        errors=t.errors,
        tokens_in=t.tokens_in,
        tokens_out=t.tokens_out,
        cost=t.cost,
        latency_sum_ms=t.latency_sum_ms,
        latency_max_ms=top,
        latency_avg_ms=t.latency_sum_ms / t.requests if t.requests else None,
        latency_p50_ms=histogram.percentile(hist, 0.50, top),
        latency_p95_ms=histogram.percentile(hist, 0.95, top),
        latency_p99_ms=histogram.percentile(hist, 0.99, top),
    )
