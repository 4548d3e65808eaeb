"""Scene requests the gateway accepted, so a job is visible before the scenes service has
read its command.

Revision ID: gateway_0004
Revises: gateway_0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "gateway_0004"
down_revision: str | None = "gateway_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scene_requests",
        sa.Column("job_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("scene_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("conversation_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema="catalog",
    )


def downgrade() -> None:
    op.drop_table("scene_requests", schema="catalog")
