"""Conversations, messages with alternatives, and turns.

Revision ID: chat_0002
Revises: chat_0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "chat_0002"
down_revision: str | None = "chat_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("character_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("persona_id", pg.UUID(as_uuid=True)),
        sa.Column("scene_template_id", pg.UUID(as_uuid=True)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("model", sa.Text),
        sa.Column("character_name", sa.Text, nullable=False, server_default=""),
        sa.Column("character_image_url", sa.Text),
        sa.Column("last_message_preview", sa.Text, nullable=False, server_default=""),
        sa.Column("last_scene_image", pg.JSONB),
        sa.Column("current_location", sa.Text),
        sa.Column("memory_summary", sa.Text, nullable=False, server_default=""),
        sa.Column("memory_facts", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("memory_through_position", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status in ('active', 'archived')", name="ck_conversations_status"),
    )
    op.create_index(
        "ix_conversations_user_activity", "conversations", ["user_id", "status", "updated_at"]
    )
    op.create_table(
        "messages",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "conversation_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("chat.conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("position", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("message_type", sa.Text, nullable=False, server_default="text"),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("alternatives", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("selected_index", sa.Integer, nullable=False, server_default="0"),
        sa.Column("turn_id", pg.UUID(as_uuid=True)),
        sa.Column("client_message_id", sa.Text),
        sa.Column("scene_ids", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("conversation_id", "client_message_id", name="uq_messages_client_id"),
        sa.CheckConstraint("sender in ('user', 'assistant')", name="ck_messages_sender"),
    )
    op.create_index(
        "ix_messages_conversation_position", "messages", ["conversation_id", "position"]
    )
    op.create_table(
        "turns",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("conversation_id", pg.UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="requested"),
        sa.Column("user_message_id", pg.UUID(as_uuid=True)),
        sa.Column("assistant_message_id", pg.UUID(as_uuid=True)),
        sa.Column("model_key", sa.Text),
        sa.Column("deltas", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error_code", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("command", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_until", TZ),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", TZ),
    )
    op.create_index(
        "ix_turns_unfinished",
        "turns",
        ["status"],
        postgresql_where=sa.text("finished_at is null"),
    )


def downgrade() -> None:
    op.drop_table("turns")
    op.drop_table("messages")
    op.drop_table("conversations")
