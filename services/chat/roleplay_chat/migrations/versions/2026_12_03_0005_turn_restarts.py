"""Turns count their restarts: a turn whose instance stopped is taken over, a few times at most.

Revision ID: chat_0005
Revises: chat_0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "chat_0005"
down_revision: str | None = "chat_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "turns",
        sa.Column("restarts", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("turns", "restarts")
