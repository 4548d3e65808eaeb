"""Scene templates get the seed's setting, scenario and conversation starters, and the same
rating and visibility checks as characters.

Revision ID: gateway_0005
Revises: gateway_0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "gateway_0005"
down_revision: str | None = "gateway_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for name in ("setting", "scenario"):
        op.add_column(
            "scene_templates",
            sa.Column(name, sa.Text, nullable=False, server_default=""),
            schema="catalog",
        )
    op.add_column(
        "scene_templates",
        sa.Column("scene_starters", pg.JSONB, nullable=False, server_default="[]"),
        schema="catalog",
    )
    op.create_check_constraint(
        "ck_scene_templates_rating",
        "scene_templates",
        "content_rating in ('sfw', 'nsfw')",
        schema="catalog",
    )
    op.create_check_constraint(
        "ck_scene_templates_visibility",
        "scene_templates",
        "visibility in ('private', 'public')",
        schema="catalog",
    )


def downgrade() -> None:
    op.drop_constraint("ck_scene_templates_visibility", "scene_templates", schema="catalog")
    op.drop_constraint("ck_scene_templates_rating", "scene_templates", schema="catalog")
    for name in ("scene_starters", "scenario", "setting"):
        op.drop_column("scene_templates", name, schema="catalog")
