"""Character Cards at full fidelity, and lorebooks as data.

Characters keep every field of a V1/V2/V3 card. The card's `extensions`, assets and unknown
fields are `json`, not `jsonb`: `json` keeps the text as sent, so key order survives and an
export gives back what was imported. A character's embedded book is a lorebook of its own
(`lorebook_id`); a persona lists the books it brings (`lorebook_ids`), and a conversation
(owned by the chat service) its own in `conversation_lorebooks`. Scene templates gain an
atmosphere for the turn's scene context.

Revision ID: gateway_0008
Revises: gateway_0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "gateway_0008"
down_revision: str | None = "gateway_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = ("nickname", "post_history_instructions", "character_version")
_JSON = (
    ("extensions", "{}"),
    ("creator_notes_multilingual", "{}"),
    ("assets", "[]"),
    ("asset_keys", "{}"),
    ("card_extra", "{}"),
)
_LISTS = ("group_only_greetings", "source", "lorebook_ids")


def upgrade() -> None:
    for name in _TEXT:
        op.add_column(
            "characters",
            sa.Column(name, sa.Text, nullable=False, server_default=""),
            schema="catalog",
        )
    for name, default in _JSON:
        op.add_column(
            "characters",
            sa.Column(name, sa.JSON, nullable=False, server_default=default),
            schema="catalog",
        )
    for name in _LISTS:
        op.add_column(
            "characters",
            sa.Column(name, pg.JSONB, nullable=False, server_default="[]"),
            schema="catalog",
        )
    for name in ("creation_date", "modification_date"):
        op.add_column("characters", sa.Column(name, sa.BigInteger), schema="catalog")
    op.add_column("characters", sa.Column("lorebook_id", pg.UUID), schema="catalog")
    op.add_column(
        "scene_templates",
        sa.Column("atmosphere", sa.Text, nullable=False, server_default=""),
        schema="catalog",
    )
    op.create_table(
        "lorebooks",
        sa.Column("id", pg.UUID, primary_key=True),
        sa.Column("owner_id", pg.UUID, nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("scan_depth", sa.Integer),
        sa.Column("token_budget", sa.Integer),
        sa.Column("recursive_scanning", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("extensions", sa.JSON, nullable=False, server_default="{}"),
        sa.Column("extra", sa.JSON, nullable=False, server_default="{}"),
        sa.Column("entries", sa.JSON, nullable=False, server_default="[]"),
        sa.Column("visibility", sa.Text, nullable=False, server_default="private"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("visibility in ('private', 'public')", name="ck_lorebooks_visibility"),
        schema="catalog",
    )
    op.create_table(
        "conversation_lorebooks",
        sa.Column("conversation_id", pg.UUID, primary_key=True),
        sa.Column("owner_id", pg.UUID, nullable=False),
        sa.Column("lorebook_ids", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema="catalog",
    )


def downgrade() -> None:
    op.drop_table("conversation_lorebooks", schema="catalog")
    op.drop_table("lorebooks", schema="catalog")
    op.drop_column("scene_templates", "atmosphere", schema="catalog")
    for name in (
        *_TEXT,
        *(n for n, _ in _JSON),
        *_LISTS,
        "creation_date",
        "modification_date",
        "lorebook_id",
    ):
        op.drop_column("characters", name, schema="catalog")
