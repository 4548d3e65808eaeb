"""Portrait jobs: a job's `purpose` (`scene` or `portrait`); a portrait's job and image have no
conversation.

Revision ID: scenes_0005
Revises: scenes_0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scenes_0005"
down_revision: str | None = "scenes_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "scene_jobs", sa.Column("purpose", sa.Text, nullable=False, server_default="scene")
    )
    op.alter_column("scene_jobs", "conversation_id", nullable=True)
    op.alter_column("scenes", "conversation_id", nullable=True)


def downgrade() -> None:
    op.execute("delete from scenes where conversation_id is null")
    op.execute("delete from scene_jobs where conversation_id is null")
    op.alter_column("scenes", "conversation_id", nullable=False)
    op.alter_column("scene_jobs", "conversation_id", nullable=False)
    op.drop_column("scene_jobs", "purpose")
