"""Models carry how many streams they serve at once: the chat service sizes its turn
concurrency by it instead of one fixed number per process.

Revision ID: gateway_0006
Revises: gateway_0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gateway_0006"
down_revision: str | None = "gateway_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "models",
        sa.Column("max_concurrent_streams", sa.Integer, nullable=False, server_default="4096"),
        schema="catalog",
    )
    op.create_check_constraint(
        "ck_models_max_concurrent_streams",
        "models",
        "max_concurrent_streams > 0",
        schema="catalog",
    )


def downgrade() -> None:
    op.drop_constraint("ck_models_max_concurrent_streams", "models", schema="catalog")
    op.drop_column("models", "max_concurrent_streams", schema="catalog")
