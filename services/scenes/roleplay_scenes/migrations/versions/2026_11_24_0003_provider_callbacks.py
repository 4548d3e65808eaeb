"""Provider results delivered by webhook, and how each job's result arrived.

Revision ID: scenes_0003
Revises: scenes_0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "scenes_0003"
down_revision: str | None = "scenes_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("scene_jobs", sa.Column("provider_result", pg.JSONB))
    op.add_column("scene_jobs", sa.Column("delivered_by", sa.Text))


def downgrade() -> None:
    op.drop_column("scene_jobs", "delivered_by")
    op.drop_column("scene_jobs", "provider_result")
