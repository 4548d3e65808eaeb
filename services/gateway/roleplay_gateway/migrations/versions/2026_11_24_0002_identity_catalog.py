"""Identity (users, roles, profiles) and catalog (characters, scene templates, providers,
models, prompt templates, system config).

Revision ID: gateway_0002
Revises: gateway_0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "gateway_0002"
down_revision: str | None = "gateway_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
UUID = pg.UUID(as_uuid=True)


def _times() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("external", sa.Boolean, nullable=False, server_default=sa.false()),
        *_times(),
        schema="identity",
    )
    op.create_index(
        "uq_users_email", "users", [sa.text("lower(email)")], unique=True, schema="identity"
    )
    op.create_table(
        "user_roles",
        sa.Column(
            "user_id",
            UUID,
            sa.ForeignKey("identity.users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.Text, primary_key=True),
        sa.CheckConstraint(
            "role in ('admin', 'moderator', 'premium_user', 'basic_user', 'guest')",
            name="ck_user_roles_role",
        ),
        schema="identity",
    )
    op.create_table(
        "profiles",
        sa.Column(
            "user_id",
            UUID,
            sa.ForeignKey("identity.users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("age_verified", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("token_balance", sa.Numeric(18, 6), nullable=False, server_default="0"),
        sa.Column("default_persona_id", UUID),
        *_times(),
        schema="identity",
    )
    op.create_table(
        "characters",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("owner_id", UUID, nullable=False, index=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("persona", sa.Text, nullable=False, server_default=""),
        sa.Column("system_prompt", sa.Text, nullable=False, server_default=""),
        sa.Column("first_message", sa.Text, nullable=False, server_default=""),
        sa.Column("alternate_greetings", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("example_dialogue", sa.Text, nullable=False, server_default=""),
        sa.Column("scenario", sa.Text, nullable=False, server_default=""),
        sa.Column("content_rating", sa.Text, nullable=False, server_default="sfw"),
        sa.Column("visibility", sa.Text, nullable=False, server_default="private"),
        sa.Column("scene_behavior_rules", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("consistency_method", sa.Text),
        sa.Column("appearance_tags", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("image_url", sa.Text),
        sa.Column("portrait_key", sa.Text),
        sa.Column("tags", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("creator", sa.Text, nullable=False, server_default=""),
        sa.Column("creator_notes", sa.Text, nullable=False, server_default=""),
        *_times(),
        sa.CheckConstraint("role in ('ai', 'user')", name="ck_characters_role"),
        sa.CheckConstraint("content_rating in ('sfw', 'nsfw')", name="ck_characters_rating"),
        sa.CheckConstraint("visibility in ('private', 'public')", name="ck_characters_visibility"),
        schema="catalog",
    )
    op.create_index(
        "ix_characters_public",
        "characters",
        ["role", "visibility", "created_at"],
        schema="catalog",
    )
    op.create_table(
        "scene_templates",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("owner_id", UUID, nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("scene_prompt", sa.Text, nullable=False, server_default=""),
        sa.Column("preview_image_url", sa.Text),
        sa.Column("tags", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("content_rating", sa.Text, nullable=False, server_default="sfw"),
        sa.Column("visibility", sa.Text, nullable=False, server_default="private"),
        *_times(),
        schema="catalog",
    )
    op.create_table(
        "providers",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("display_name", sa.Text, nullable=False, server_default=""),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("base_url", sa.Text, nullable=False),
        sa.Column("api_key_env", sa.Text),
        sa.Column("health_url", sa.Text),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        *_times(),
        schema="catalog",
    )
    op.create_table(
        "models",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("display_name", sa.Text, nullable=False, server_default=""),
        sa.Column(
            "provider_id",
            UUID,
            sa.ForeignKey("catalog.providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("model_name", sa.Text, nullable=False),
        sa.Column("modality", sa.Text, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("priority", sa.Integer, nullable=False, server_default="100"),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("context_window", sa.Integer, nullable=False, server_default="8192"),
        sa.Column("max_output_tokens", sa.Integer, nullable=False, server_default="512"),
        sa.Column("input_cost_per_mtok", sa.Numeric(18, 6), nullable=False, server_default="0"),
        sa.Column("output_cost_per_mtok", sa.Numeric(18, 6), nullable=False, server_default="0"),
        sa.Column("cost_per_image", sa.Numeric(18, 6), nullable=False, server_default="0"),
        sa.Column("timeout_seconds", sa.Float, nullable=False, server_default="60"),
        sa.Column("input_defaults", pg.JSONB, nullable=False, server_default="{}"),
        *_times(),
        sa.CheckConstraint("modality in ('chat', 'image')", name="ck_models_modality"),
        schema="catalog",
    )
    op.create_table(
        "prompt_templates",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("use_case", sa.Text, nullable=False),
        sa.Column("content_mode", sa.Text, nullable=False, server_default="sfw"),
        sa.Column("target_model", sa.Text),
        sa.Column("system_prompt", sa.Text, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *_times(),
        schema="catalog",
    )
    op.create_table(
        "system_config",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", pg.JSONB, nullable=False),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        schema="catalog",
    )


def downgrade() -> None:
    for table in (
        "system_config",
        "prompt_templates",
        "models",
        "providers",
        "scene_templates",
        "characters",
    ):
        op.drop_table(table, schema="catalog")
    for table in ("profiles", "user_roles", "users"):
        op.drop_table(table, schema="identity")
