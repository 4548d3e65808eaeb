"""Latency histograms: buckets match SQL's width_bucket, percentiles are real percentiles."""

from __future__ import annotations

from roleplay_usage.domain import histogram


def test_bucket_edges_follow_width_bucket() -> None:
    assert histogram.bucket_of(0) == 0
    assert histogram.bucket_of(24) == 0
    assert histogram.bucket_of(25) == 1
    assert histogram.bucket_of(99) == 2
    assert histogram.bucket_of(60000) == len(histogram.BOUNDS)
    assert histogram.bucket_of(10**9) == histogram.SIZE - 1


def test_percentiles_come_from_the_distribution_not_the_maximum() -> None:
    latencies = [30] * 90 + [800] * 9 + [20000]
    hist = histogram.merge(*(histogram.single(ms) for ms in latencies))
    assert sum(hist) == 100
    p50 = histogram.percentile(hist, 0.50)
    p95 = histogram.percentile(hist, 0.95)
    p99 = histogram.percentile(hist, 0.99)
    assert p50 is not None and 25 <= p50 < 50
    assert p95 is not None and 500 <= p95 < 1000
    assert p99 is not None and 500 <= p99 <= 1000
    assert histogram.percentile([0] * histogram.SIZE, 0.5) is None
