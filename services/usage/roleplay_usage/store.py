"""Tables of the `usage` schema and the queries on them: one log row per call, aggregates,
balances, grants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.events import UsageRecorded
from roleplay_usage.domain import histogram
from roleplay_usage.domain.aggregates import BucketKey, Totals
from roleplay_usage.domain.buckets import KINDS, BucketKind

SCHEMA = "usage"

metadata = sa.MetaData(schema=SCHEMA)
TZ = sa.DateTime(timezone=True)
MONEY = sa.Numeric(18, 6)

usage_logs = sa.Table(
    "usage_logs",
    metadata,
    sa.Column("event_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("request_type", sa.Text, nullable=False),
    sa.Column("tokens_in", sa.Integer, nullable=False),
    sa.Column("tokens_out", sa.Integer, nullable=False),
    sa.Column("cost_in", MONEY, nullable=False),
    sa.Column("cost_out", MONEY, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("response_status", sa.Integer),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("occurred_at", TZ, nullable=False, index=True),
    sa.Column("reference_id", sa.Text),
    sa.Column("error_code", sa.Text),
    sa.Column("recorded_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Index("ix_usage_logs_user_time", "user_id", "occurred_at"),
)

usage_aggregates = sa.Table(
    "usage_aggregates",
    metadata,
    sa.Column("bucket_kind", sa.Text, primary_key=True),
    sa.Column("bucket_start", TZ, primary_key=True),
    sa.Column("provider", sa.Text, primary_key=True),
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("successes", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    sa.Column("tokens_in", sa.BigInteger, nullable=False),
    sa.Column("tokens_out", sa.BigInteger, nullable=False),
    sa.Column("cost", MONEY, nullable=False),
    sa.Column("latency_sum_ms", sa.BigInteger, nullable=False),
    sa.Column("latency_max_ms", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("latency_hist", pg.ARRAY(sa.BigInteger), nullable=False),
)

balances = sa.Table(
    "balances",
    metadata,
    sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("balance", MONEY, nullable=False),
    sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
)

grants = sa.Table(
    "grants",
    metadata,
    sa.Column("idempotency_key", sa.Text, primary_key=True),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("balance_after", MONEY, nullable=False),
    sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
)


# --- logs ---------------------------------------------------------------------------------


async def insert_logs(session: AsyncSession, calls: Mapping[UUID, UsageRecorded]) -> set[UUID]:
    """Insert one log row per event id; the ids that were not there before.

    Rows go in event id order, so two batches holding the same events lock them in the same
    order and cannot deadlock."""
    if not calls:
        return set()
    rows = [_log_row(event_id, call) for event_id, call in sorted(calls.items())]
    result = await session.execute(
        insert(usage_logs)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(usage_logs.c.event_id)
    )
    return set(result.scalars())


def _log_row(event_id: UUID, call: UsageRecorded) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "user_id": call.user_id,
        "provider": call.provider,
        "model": call.model,
        "request_type": call.request_type,
        "tokens_in": call.tokens_in,
        "tokens_out": call.tokens_out,
        "cost_in": call.cost_in,
        "cost_out": call.cost_out,
        "status": call.status,
        "response_status": call.response_status,
        "latency_ms": call.latency_ms,
        "occurred_at": call.occurred_at,
        "reference_id": call.reference_id,
        "error_code": call.error_code,
    }


async def usage_by_model(
    session: AsyncSession, user_id: UUID, start: datetime, end: datetime
) -> Sequence[sa.Row[Any]]:
    """One user's calls in [start, end) per model and request type: requests, tokens, cost."""
    c = usage_logs.c
    result = await session.execute(
        sa.select(
            c.model,
            c.request_type,
            sa.func.count().label("requests"),
            sa.func.coalesce(sa.func.sum(c.tokens_in), 0).label("tokens_in"),
            sa.func.coalesce(sa.func.sum(c.tokens_out), 0).label("tokens_out"),
            sa.func.coalesce(sa.func.sum(c.cost_in + c.cost_out), 0).label("cost"),
        )
        .where(c.user_id == user_id, c.occurred_at >= start, c.occurred_at < end)
        .group_by(c.model, c.request_type)
        .order_by(c.model, c.request_type)
    )
    return result.all()


# --- aggregates ---------------------------------------------------------------------------


async def add_to_aggregates(session: AsyncSession, totals: Mapping[BucketKey, Totals]) -> None:
    """Add totals to their bucket rows in one multi-row upsert: `x = x + excluded.x`, the
    histogram element-wise, the maximum by `greatest`. Each row's increment is atomic, so
    concurrent batches never lose one; rows go in key order so they cannot deadlock."""
    if not totals:
        return
    rows = [
        {
            "bucket_kind": kind,
            "bucket_start": start,
            "provider": provider,
            "model": model,
            "requests": t.requests,
            "successes": t.successes,
            "errors": t.errors,
            "tokens_in": t.tokens_in,
            "tokens_out": t.tokens_out,
            "cost": t.cost,
            "latency_sum_ms": t.latency_sum_ms,
            "latency_max_ms": t.latency_max_ms,
            "latency_hist": t.latency_hist,
        }
        for (kind, start, provider, model), t in sorted(totals.items())
    ]
    statement = insert(usage_aggregates).values(rows)
    current, excluded = usage_aggregates.c, statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["bucket_kind", "bucket_start", "provider", "model"],
            set_={
                "requests": current.requests + excluded.requests,
                "successes": current.successes + excluded.successes,
                "errors": current.errors + excluded.errors,
                "tokens_in": current.tokens_in + excluded.tokens_in,
                "tokens_out": current.tokens_out + excluded.tokens_out,
                "cost": current.cost + excluded.cost,
                "latency_sum_ms": current.latency_sum_ms + excluded.latency_sum_ms,
                "latency_max_ms": sa.func.greatest(current.latency_max_ms, excluded.latency_max_ms),
                "latency_hist": sa.text(
                    "(select array_agg(a + b order by i) from unnest("
                    f"{SCHEMA}.usage_aggregates.latency_hist, excluded.latency_hist) "
                    "with ordinality as h(a, b, i))"
                ),
            },
        )
    )


async def bucket_rows(
    session: AsyncSession, kind: BucketKind, start: datetime, end: datetime
) -> list[tuple[BucketKey, Totals]]:
    """The `kind` rows whose bucket starts in [start, end)."""
    c = usage_aggregates.c
    result = await session.execute(
        sa.select(usage_aggregates).where(
            c.bucket_kind == kind, c.bucket_start >= start, c.bucket_start < end
        )
    )
    return [
        (
            (kind, r.bucket_start, r.provider, r.model),
            Totals(
                requests=r.requests,
                successes=r.successes,
                errors=r.errors,
                tokens_in=r.tokens_in,
                tokens_out=r.tokens_out,
                cost=r.cost,
                latency_sum_ms=r.latency_sum_ms,
                latency_max_ms=r.latency_max_ms,
                latency_hist=list(r.latency_hist),
            ),
        )
        for r in result
    ]


async def rebuild_day(session: AsyncSession, day: datetime) -> None:
    """Replace the hour and day rows of one UTC day by their totals recomputed from the logs.

    The table lock (which ingest's upserts wait for, and which waits for upserts already made)
    means no batch adds to the rows while they are rebuilt: a batch committed before the lock
    is in the logs read here; one committing after adds to the rebuilt rows. Reads of the
    aggregates go on meanwhile."""
    window = {"start": day, "end": day + timedelta(days=1)}
    await session.execute(
        sa.text(f"lock table {SCHEMA}.usage_aggregates in share row exclusive mode")
    )
    await session.execute(
        sa.delete(usage_aggregates).where(
            usage_aggregates.c.bucket_start >= window["start"],
            usage_aggregates.c.bucket_start < window["end"],
        )
    )
    for kind in KINDS:
        await session.execute(_recompute(kind), window)


def _recompute(kind: BucketKind) -> sa.TextClause:
    """Totals from the logs, latencies counted by `width_bucket` on the histogram's bounds —
    the same rule as `histogram.bucket_of` on the live path."""
    bounds = "array[" + ",".join(str(b) for b in histogram.BOUNDS) + "]::int[]"
    counts = ", ".join(
        f"count(*) filter (where width_bucket(latency_ms, {bounds}) = {i})"
        for i in range(histogram.SIZE)
    )
    return sa.text(
        f"""
        insert into {SCHEMA}.usage_aggregates (bucket_kind, bucket_start, provider, model,
            requests, successes, errors, tokens_in, tokens_out, cost, latency_sum_ms,
            latency_max_ms, latency_hist)
        select '{kind}', date_trunc('{kind}', occurred_at, 'UTC'), provider, model,
            count(*), count(*) filter (where status = 'success'),
            count(*) filter (where status <> 'success'),
            sum(tokens_in), sum(tokens_out), sum(cost_in + cost_out), sum(latency_ms),
            max(latency_ms), array[{counts}]::bigint[]
        from {SCHEMA}.usage_logs
        where occurred_at >= :start and occurred_at < :end
        group by 2, provider, model
        """
    )


# --- balances and grants ------------------------------------------------------------------


async def balance_of(session: AsyncSession, user_id: UUID) -> Decimal | None:
    """The user's balance, or None before their first call or grant."""
    value: Decimal | None = await session.scalar(
        sa.select(balances.c.balance).where(balances.c.user_id == user_id)
    )
    return value


async def change_balances(
    session: AsyncSession, deltas: Mapping[UUID, Decimal], initial_credits: Decimal
) -> dict[UUID, Decimal]:
    """Add each delta to its user's balance in one statement (a user without a balance starts
    at `initial_credits`); the balances after. Users go in id order (no deadlock)."""
    if not deltas:
        return {}
    now = datetime.now(UTC)
    statement = insert(balances).values(
        [
            {"user_id": user_id, "balance": initial_credits + delta, "updated_at": now}
            for user_id, delta in sorted(deltas.items())
        ]
    )
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id"],
            set_={
                "balance": balances.c.balance + (statement.excluded.balance - initial_credits),
                "updated_at": now,
            },
        ).returning(balances.c.user_id, balances.c.balance)
    )
    return {row.user_id: row.balance for row in result}


async def claim_grant(
    session: AsyncSession, idempotency_key: str, user_id: UUID, amount: Decimal, reason: str
) -> bool:
    """Record a grant under its key; False when the key was used before (by a grant that may
    still be committing: this waits for it)."""
    result = await session.execute(
        insert(grants)
        .values(
            idempotency_key=idempotency_key,
            user_id=user_id,
            amount=amount,
            reason=reason,
            balance_after=0,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(grants.c.idempotency_key)
    )
    return result.first() is not None


async def grant_by_key(session: AsyncSession, idempotency_key: str) -> sa.Row[Any]:
    result = await session.execute(
        sa.select(grants).where(grants.c.idempotency_key == idempotency_key)
    )
    return result.one()


async def set_grant_balance(session: AsyncSession, idempotency_key: str, value: Decimal) -> None:
    await session.execute(
        sa.update(grants)
        .where(grants.c.idempotency_key == idempotency_key)
        .values(balance_after=value)
    )
