"""Largest latency per aggregate bucket (caps its percentiles); logs indexed by user and time.

Revision ID: usage_0003
Revises: usage_0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "usage_0003"
down_revision: str | None = "usage_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "usage_aggregates",
        sa.Column("latency_max_ms", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.execute(
        """
        update usage_aggregates a set latency_max_ms = m.latency_max_ms
        from (
            select kind, date_trunc(kind, occurred_at, 'UTC') as bucket_start, provider, model,
                max(latency_ms) as latency_max_ms
            from usage_logs cross join (values ('hour'), ('day')) as k(kind)
            group by 1, 2, 3, 4
        ) m
        where a.bucket_kind = m.kind and a.bucket_start = m.bucket_start
            and a.provider = m.provider and a.model = m.model
        """
    )
    op.create_index("ix_usage_logs_user_time", "usage_logs", ["user_id", "occurred_at"])
    op.drop_index("ix_usage_logs_user_id", table_name="usage_logs")


def downgrade() -> None:
    op.create_index("ix_usage_logs_user_id", "usage_logs", ["user_id"])
    op.drop_index("ix_usage_logs_user_time", table_name="usage_logs")
    op.drop_column("usage_aggregates", "latency_max_ms")
