"""Alembic environment of the `usage` schema."""

from roleplay_common.db.migrations import run_env

run_env("usage")
