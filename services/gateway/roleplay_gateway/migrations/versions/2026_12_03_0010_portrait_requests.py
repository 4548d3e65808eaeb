"""Portrait generation: an accepted job's `purpose` and character (a portrait has no
conversation), and when its image became the portrait (`applied_at`).

Revision ID: gateway_0010
Revises: gateway_0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "gateway_0010"
down_revision: str | None = "gateway_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "scene_requests",
        sa.Column("purpose", sa.Text, nullable=False, server_default="scene"),
        schema="catalog",
    )
    op.add_column(
        "scene_requests", sa.Column("character_id", pg.UUID(as_uuid=True)), schema="catalog"
    )
    op.add_column(
        "scene_requests", sa.Column("applied_at", sa.DateTime(timezone=True)), schema="catalog"
    )
    op.alter_column("scene_requests", "conversation_id", nullable=True, schema="catalog")


def downgrade() -> None:
    op.execute("delete from catalog.scene_requests where conversation_id is null")
    op.alter_column("scene_requests", "conversation_id", nullable=False, schema="catalog")
    op.drop_column("scene_requests", "applied_at", schema="catalog")
    op.drop_column("scene_requests", "character_id", schema="catalog")
    op.drop_column("scene_requests", "purpose", schema="catalog")
