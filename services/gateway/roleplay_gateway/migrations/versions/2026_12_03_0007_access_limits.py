"""Rate limits and login throttling shared by every gateway instance.

`rate_limits` holds one row per caller (user or client address): the theoretical arrival time
of the generic cell rate algorithm, in epoch seconds. `login_attempts` counts failed logins per
account and per address in a fixed window. Both are UNLOGGED: they are written on every request
and lose nothing of value in a crash (limits start afresh).

Revision ID: gateway_0007
Revises: gateway_0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gateway_0007"
down_revision: str | None = "gateway_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("tat", sa.Float, nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        schema="identity",
        prefixes=["UNLOGGED"],
    )
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_ends", sa.DateTime(timezone=True), nullable=False),
        schema="identity",
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("login_attempts", schema="identity")
    op.drop_table("rate_limits", schema="identity")
