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


def test_percentiles_never_exceed_the_largest_latency_seen() -> None:
    hist = histogram.merge(*(histogram.single(30) for _ in range(10)))
    assert histogram.percentile(hist, 0.99, max_ms=30) == 30
    slow = histogram.single(70000)
    assert histogram.percentile(slow, 0.5, max_ms=70000) == 65000
    assert histogram.percentile(slow, 1.0, max_ms=70000) == 70000


def test_histograms_add_element_wise() -> None:
    a, b = histogram.single(10), histogram.single(3000)
    assert histogram.merge(a, b, a) == [
        2 if i == 0 else 1 if i == histogram.bucket_of(3000) else 0 for i in range(histogram.SIZE)
    ]
