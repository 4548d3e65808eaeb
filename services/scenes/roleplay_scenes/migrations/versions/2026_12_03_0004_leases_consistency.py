"""Durable jobs (lease, attempts, the provider's request handle) and consistency (the seed a
scene used, the library copy of a kept scene).

Revision ID: scenes_0004
Revises: scenes_0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "scenes_0004"
down_revision: str | None = "scenes_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("scene_jobs", sa.Column("lease_owner", sa.Text))
    # Unfinished jobs of earlier versions had no lease: expired at once, any instance takes them.
    op.add_column("scene_jobs", sa.Column("lease_expires_at", TZ, server_default=sa.func.now()))
    op.alter_column("scene_jobs", "lease_expires_at", server_default=None)
    op.add_column(
        "scene_jobs", sa.Column("attempts", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column("scene_jobs", sa.Column("provider_handle", pg.JSONB))
    op.create_index(
        "ix_scene_jobs_unfinished_lease",
        "scene_jobs",
        ["lease_expires_at"],
        postgresql_where=sa.text("finished_at is null"),
    )
    op.add_column("scenes", sa.Column("seed", sa.BigInteger))
    op.add_column("scenes", sa.Column("kept_asset_id", pg.UUID(as_uuid=True)))
    op.add_column("scenes", sa.Column("kept_bucket", sa.Text))
    op.add_column("scenes", sa.Column("kept_key", sa.Text))


def downgrade() -> None:
    for column in ("kept_key", "kept_bucket", "kept_asset_id", "seed"):
        op.drop_column("scenes", column)
    op.drop_index("ix_scene_jobs_unfinished_lease", table_name="scene_jobs")
    for column in ("provider_handle", "attempts", "lease_expires_at", "lease_owner"):
        op.drop_column("scene_jobs", column)
