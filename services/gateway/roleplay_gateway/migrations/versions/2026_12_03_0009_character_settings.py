"""Characters carry default sampler settings for their conversations.

Revision ID: gateway_0009
Revises: gateway_0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gateway_0009"
down_revision: str | None = "gateway_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "characters",
        sa.Column("settings", sa.JSON, nullable=False, server_default="{}"),
        schema="catalog",
    )


def downgrade() -> None:
    op.drop_column("characters", "settings", schema="catalog")
