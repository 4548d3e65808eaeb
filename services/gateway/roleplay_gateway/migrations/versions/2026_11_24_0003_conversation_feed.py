"""The conversation feed: what a chat screen shows live, in order, for resumable streams.

Revision ID: gateway_0003
Revises: gateway_0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "gateway_0003"
down_revision: str | None = "gateway_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_feed",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("conversation_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("data", pg.JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("event_id", "name", name="uq_conversation_feed_event"),
        schema="catalog",
    )
    op.create_index(
        "ix_conversation_feed_conversation",
        "conversation_feed",
        ["conversation_id", "seq"],
        schema="catalog",
    )


def downgrade() -> None:
    op.drop_table("conversation_feed", schema="catalog")
