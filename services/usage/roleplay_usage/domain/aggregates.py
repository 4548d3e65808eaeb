"""Totals of calls per (bucket kind, bucket start, provider, model), and what each user owes.

Totals only ever add up (counts, sums, element-wise histograms, the maximum), so the order in
which batches arrive — or which consumer instance adds them — never changes the result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from roleplay_common.events import UsageRecorded
from roleplay_usage.domain import histogram
from roleplay_usage.domain.buckets import KINDS, BucketKind, bucket_start

BucketKey = tuple[BucketKind, datetime, str, str]
"""(bucket kind, bucket start, provider, model)"""


@dataclass
class Totals:
    requests: int = 0
    successes: int = 0
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = Decimal(0)
    latency_sum_ms: int = 0
    latency_max_ms: int = 0
    latency_hist: list[int] = field(default_factory=lambda: [0] * histogram.SIZE)

    def add(self, call: UsageRecorded) -> None:
        self.requests += 1
        if call.status == "success":
            self.successes += 1
        else:
            self.errors += 1
        self.tokens_in += call.tokens_in
        self.tokens_out += call.tokens_out
        self.cost += call.cost
        self.latency_sum_ms += call.latency_ms
        self.latency_max_ms = max(self.latency_max_ms, call.latency_ms)
        self.latency_hist[histogram.bucket_of(call.latency_ms)] += 1

    def merge(self, other: Totals) -> None:
        self.requests += other.requests
        self.successes += other.successes
        self.errors += other.errors
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.cost += other.cost
        self.latency_sum_ms += other.latency_sum_ms
        self.latency_max_ms = max(self.latency_max_ms, other.latency_max_ms)
        self.latency_hist = histogram.merge(self.latency_hist, other.latency_hist)


def totals_by_bucket(calls: Iterable[UsageRecorded]) -> dict[BucketKey, Totals]:
    """Each call added to its hour bucket and its day bucket."""
    totals: dict[BucketKey, Totals] = defaultdict(Totals)
    for call in calls:
        for kind in KINDS:
            key = (kind, bucket_start(call.occurred_at, kind), call.provider, call.model)
            totals[key].add(call)
    return dict(totals)


def debits(calls: Iterable[UsageRecorded]) -> dict[UUID, Decimal]:
    """What each user's balance changes by: minus the cost of their calls (free calls omitted)."""
    owed: dict[UUID, Decimal] = defaultdict(Decimal)
    for call in calls:
        owed[call.user_id] += call.cost
    return {user: -amount for user, amount in owed.items() if amount}
