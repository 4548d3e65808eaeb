"""Alembic environment of the `library` schema."""

from roleplay_common.db.migrations import run_env

run_env("library")
