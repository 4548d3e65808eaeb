"""Alembic environment of the `scenes` schema."""

from roleplay_common.db.migrations import run_env

run_env("scenes")
