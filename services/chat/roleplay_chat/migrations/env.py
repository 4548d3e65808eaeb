"""Alembic environment of the `chat` schema."""

from roleplay_common.db.migrations import run_env

run_env("chat")
