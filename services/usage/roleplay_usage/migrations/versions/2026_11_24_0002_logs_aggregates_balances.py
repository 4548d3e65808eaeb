"""Usage logs, hourly and daily aggregates with latency histograms, balances and grants.

Revision ID: usage_0002
Revises: usage_0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "usage_0002"
down_revision: str | None = "usage_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
MONEY = sa.Numeric(18, 6)


def upgrade() -> None:
    op.create_table(
        "usage_logs",
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
    op.create_table(
        "usage_aggregates",
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
        sa.CheckConstraint("bucket_kind in ('hour', 'day')", name="ck_aggregates_kind"),
    )
    op.create_table(
        "balances",
        sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("balance", MONEY, nullable=False),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "grants",
        sa.Column("idempotency_key", sa.Text, primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("balance_after", MONEY, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    for table in ("grants", "balances", "usage_aggregates", "usage_logs"):
        op.drop_table(table)
