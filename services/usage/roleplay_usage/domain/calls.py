"""Which `usage.recorded` calls can be counted; the others go to the dead-letter topic.

A payload that fails its schema never gets here (the consumer dead-letters it); these are the
well-formed ones whose values cannot be right or cannot be stored.
"""

from __future__ import annotations

from decimal import Decimal

from roleplay_common.events import UsageRecorded

INT_MAX = 2**31 - 1
COST_MAX = Decimal(10) ** 12  # numeric(18, 6)


def rejection(call: UsageRecorded) -> str | None:
    """Why `call` cannot be counted, or None when it can."""
    if call.occurred_at.tzinfo is None:
        return "occurred_at has no time zone"
    for name in ("tokens_in", "tokens_out", "latency_ms"):
        value: int = getattr(call, name)
        if not 0 <= value <= INT_MAX:
            return f"{name} out of range: {value}"
    for name in ("cost_in", "cost_out"):
        cost: Decimal = getattr(call, name)
        if not cost.is_finite() or not 0 <= cost < COST_MAX:
            return f"{name} out of range: {cost}"
    return None
