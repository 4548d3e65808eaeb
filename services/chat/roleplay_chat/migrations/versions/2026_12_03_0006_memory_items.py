"""Memory items of the three tiers: conversation, character and profile.

Revision ID: chat_0006
Revises: chat_0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "chat_0006"
down_revision: str | None = "chat_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "memory_items",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("tier", sa.Text, nullable=False),
        sa.Column("character_id", pg.UUID(as_uuid=True)),
        sa.Column(
            "conversation_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("chat.conversations.id", ondelete="CASCADE"),
        ),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("normalized", sa.Text, nullable=False),
        sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("forgotten", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("origin", sa.Text, nullable=False, server_default="extracted"),
        sa.Column("source_message_ids", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "tier in ('conversation', 'character', 'profile')", name="ck_memory_items_tier"
        ),
        sa.CheckConstraint(
            "(tier = 'conversation') = (conversation_id is not null)",
            name="ck_memory_items_conversation",
        ),
        sa.CheckConstraint(
            "(tier = 'character') = (character_id is not null) or tier = 'conversation'",
            name="ck_memory_items_character",
        ),
    )
    op.create_index(
        "ix_memory_items_user_tier", "memory_items", ["user_id", "tier", "character_id"]
    )
    op.create_index("ix_memory_items_conversation", "memory_items", ["conversation_id"])
    # One row per remembered text in its scope, tombstones included: concurrent extractions
    # (two chats, two processes) cannot add the same item twice.
    op.create_index(
        "uq_memory_items_scope_text",
        "memory_items",
        ["user_id", "tier", "character_id", "conversation_id", "normalized"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )


def downgrade() -> None:
    op.drop_table("memory_items")
