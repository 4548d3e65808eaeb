"""Scene jobs, scenes (continuity chain) and workspace assets.

Revision ID: scenes_0002
Revises: scenes_0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "scenes_0002"
down_revision: str | None = "scenes_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
UUID = pg.UUID(as_uuid=True)


def upgrade() -> None:
    op.create_table(
        "scene_jobs",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("scene_id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False, index=True),
        sa.Column("conversation_id", UUID, nullable=False, index=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("progress", sa.Float, nullable=False, server_default="0"),
        sa.Column("stage", sa.Text, nullable=False, server_default="queued"),
        sa.Column("error_code", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("provider_request_id", sa.Text),
        sa.Column("model", sa.Text),
        sa.Column("command", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", TZ),
        sa.CheckConstraint(
            "status in ('queued', 'processing', 'completed', 'failed', 'cancelled')",
            name="ck_scene_jobs_status",
        ),
    )
    op.create_table(
        "scenes",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("job_id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False, index=True),
        sa.Column("conversation_id", UUID, nullable=False, index=True),
        sa.Column("character_id", UUID, nullable=False),
        sa.Column("message_id", UUID),
        sa.Column(
            "previous_scene_id", UUID, sa.ForeignKey("scenes.scenes.id", ondelete="SET NULL")
        ),
        sa.Column("generation_mode", sa.Text, nullable=False),
        sa.Column("style", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("prompt", sa.Text, nullable=False, server_default=""),
        sa.Column("image_bucket", sa.Text),
        sa.Column("image_key", sa.Text),
        sa.Column("thumbnail_key", sa.Text),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "workspace_assets",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("scene_id", UUID, nullable=False, index=True),
        sa.Column("bucket", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("expires_at", TZ, nullable=False, index=True),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    for table in ("workspace_assets", "scenes", "scene_jobs"):
        op.drop_table(table)
