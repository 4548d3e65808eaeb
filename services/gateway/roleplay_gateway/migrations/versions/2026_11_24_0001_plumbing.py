"""Plumbing tables of the gateway: processed events and the outbox in `identity`,
and the `catalog` schema.

Revision ID: gateway_0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

from roleplay_common.db.plumbing import create_plumbing_tables, drop_plumbing_tables

revision: str = "gateway_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("create schema if not exists catalog")
    create_plumbing_tables("identity")


def downgrade() -> None:
    drop_plumbing_tables("identity")
    op.execute("drop schema if exists catalog cascade")
