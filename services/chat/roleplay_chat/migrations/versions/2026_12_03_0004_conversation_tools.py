"""Conversation tools: sampler settings per conversation, and when and by which model each
alternative (swipe) was written.

Revision ID: chat_0004
Revises: chat_0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "chat_0004"
down_revision: str | None = "chat_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("settings", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.add_column(
        "messages",
        sa.Column(
            "alternative_meta", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")
        ),
    )


def downgrade() -> None:
    op.drop_column("messages", "alternative_meta")
    op.drop_column("conversations", "settings")
