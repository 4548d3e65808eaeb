"""Plumbing tables of the `scenes` schema: processed events and the outbox.

Revision ID: scenes_0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from roleplay_common.db.plumbing import create_plumbing_tables, drop_plumbing_tables

revision: str = "scenes_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_plumbing_tables("scenes")


def downgrade() -> None:
    drop_plumbing_tables("scenes")
