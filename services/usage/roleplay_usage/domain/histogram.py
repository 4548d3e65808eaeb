"""A fixed latency histogram, so percentiles of a bucket are real percentiles.

The seed kept the running maximum and called it p95. Here each aggregate row keeps counts per
latency range; histograms add element-wise (so concurrent updates and rebuilds agree), and a
percentile is read by walking the cumulative counts and interpolating inside the range, never
beyond the largest latency seen. Bucket i holds latencies in [BOUNDS[i-1], BOUNDS[i]) ms — the
same rule as PostgreSQL's `width_bucket(latency, BOUNDS)`, so live updates and SQL backfills
count identically.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

BOUNDS: tuple[int, ...] = (25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
SIZE = len(BOUNDS) + 1


def bucket_of(latency_ms: int) -> int:
    return bisect.bisect_right(BOUNDS, latency_ms)


def single(latency_ms: int) -> list[int]:
    counts = [0] * SIZE
    counts[bucket_of(latency_ms)] = 1
    return counts


def merge(*histograms: Sequence[int]) -> list[int]:
    total = [0] * SIZE
    for histogram in histograms:
        for i, count in enumerate(histogram):
            total[i] += count
    return total


def percentile(histogram: Sequence[int], p: float, max_ms: int | None = None) -> float | None:
    """The `p` quantile (0..1) in ms, interpolated inside its range and capped at `max_ms` (the
    largest latency seen, which also closes the open top range); None when empty."""
    n = sum(histogram)
    if n == 0:
        return None
    top = float(max_ms) if max_ms is not None else float(BOUNDS[-1] * 2)
    rank = p * n
    seen = 0
    for i, count in enumerate(histogram):
        if count and seen + count >= rank:
            low = 0 if i == 0 else BOUNDS[i - 1]
            high = BOUNDS[i] if i < len(BOUNDS) else max(top, low)
            return min(low + (high - low) * max(rank - seen, 0) / count, top)
        seen += count
    return top
