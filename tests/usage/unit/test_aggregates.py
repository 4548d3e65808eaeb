"""Totals per bucket and what each user owes: pure arithmetic, order-independent."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from roleplay_common.events import UsageRecorded
from roleplay_usage.domain.aggregates import Totals, debits, totals_by_bucket
from roleplay_usage.domain.buckets import bucket_start, whole_days
from roleplay_usage.domain.calls import rejection
from roleplay_usage.domain.report import report

AT = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def usage(**kw: Any) -> UsageRecorded:
    values: dict[str, Any] = {
        "user_id": uuid.uuid4(),
        "provider": "p",
        "model": "m",
        "request_type": "chat",
        "tokens_in": 10,
        "tokens_out": 2,
        "cost_in": Decimal("0.1"),
        "cost_out": Decimal("0.2"),
        "status": "success",
        "latency_ms": 120,
        "occurred_at": AT,
        **kw,
    }
    return UsageRecorded(**values)


def test_each_call_counts_in_its_hour_and_its_day() -> None:
    calls = [
        usage(),
        usage(status="error", latency_ms=40),
        usage(occurred_at=AT + timedelta(hours=1)),
    ]
    totals = totals_by_bucket(calls)
    hour = totals[("hour", AT.replace(minute=0), "p", "m")]
    day = totals[("day", AT.replace(hour=0, minute=0), "p", "m")]
    assert (hour.requests, hour.successes, hour.errors, hour.latency_max_ms) == (2, 1, 1, 120)
    assert (day.requests, day.tokens_in, day.cost) == (3, 30, Decimal("0.9"))
    assert len(totals) == 3


def test_totals_do_not_depend_on_order_or_batching() -> None:
    calls = [usage(latency_ms=random.randrange(0, 90000)) for _ in range(50)]
    whole = totals_by_bucket(calls)
    shuffled = random.sample(calls, len(calls))
    merged: dict[Any, Totals] = {}
    for part in (shuffled[:17], shuffled[17:]):
        for key, totals in totals_by_bucket(part).items():
            merged.setdefault(key, Totals()).merge(totals)
    assert merged == whole


def test_users_owe_the_cost_of_their_calls() -> None:
    me, free = uuid.uuid4(), uuid.uuid4()
    owed = debits(
        [usage(user_id=me), usage(user_id=me), usage(user_id=free, cost_in=0, cost_out=0)]
    )
    assert owed == {me: Decimal("-0.6")}


def test_buckets_are_utc() -> None:
    local = datetime(2026, 11, 20, 1, 15, tzinfo=timezone(timedelta(hours=3)))
    assert bucket_start(local, "day") == datetime(2026, 11, 19, tzinfo=UTC)
    assert bucket_start(local, "hour") == datetime(2026, 11, 19, 22, tzinfo=UTC)
    assert whole_days(AT, AT + timedelta(days=1)) == [
        datetime(2026, 11, 20, tzinfo=UTC),
        datetime(2026, 11, 21, tzinfo=UTC),
    ]
    assert whole_days(AT, AT) == []


def test_calls_that_cannot_be_counted_say_why() -> None:
    assert rejection(usage()) is None
    assert rejection(usage(occurred_at=AT.replace(tzinfo=None))) == "occurred_at has no time zone"
    assert "tokens_out" in (rejection(usage(tokens_out=-1)) or "")
    assert "latency_ms" in (rejection(usage(latency_ms=2**31)) or "")
    assert "cost_in" in (rejection(usage(cost_in=Decimal("1e15"))) or "")
    assert "cost_out" in (rejection(usage(cost_out=Decimal("-0.01"))) or "")


def test_reports_group_rows_and_read_percentiles() -> None:
    calls = [usage(model=m, latency_ms=ms) for m in ("a", "b") for ms in (10, 100, 1000)]
    calls += [usage(provider="q", occurred_at=AT + timedelta(hours=2))]
    rows = list(totals_by_bucket(calls).items())
    hour_rows = [r for r in rows if r[0][0] == "hour"]

    by_provider = report(hour_rows, "provider")
    assert [(line.provider, line.model, line.requests) for line in by_provider] == [
        ("p", None, 6),
        ("q", None, 1),
    ]
    assert by_provider[0].latency_max_ms == 1000 and by_provider[0].latency_p50_ms is not None
    assert [(line.model, line.requests) for line in report(hour_rows, "model")] == [
        ("a", 3),
        ("b", 3),
        ("m", 1),
    ]
    hours = report(hour_rows, "hour")
    assert (hours[0].bucket_start, hours[0].model) == (AT.replace(minute=0), "a")
    assert hours[-1].bucket_start == AT.replace(minute=0) + timedelta(hours=2)
    assert report([], "day") == []
