"""Tables of the `usage` schema: one log row per call, aggregates, balances, grants."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

SCHEMA = "usage"

metadata = sa.MetaData(schema=SCHEMA)
TZ = sa.DateTime(timezone=True)
MONEY = sa.Numeric(18, 6)

usage_logs = sa.Table(
    "usage_logs",
    metadata,
    sa.Column("event_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False, index=True),
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
