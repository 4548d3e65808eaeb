"""Alembic environment of the `identity` schema."""

from roleplay_common.db.migrations import run_env

run_env("identity")
