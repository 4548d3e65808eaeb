"""Alembic per service slice: each service migrates only its own schema.

A service's `migrations/env.py` is two lines: import `run_env` and call it with the schema.
`upgrade_to_head` runs the service's migrations from code (service start, `roleplay migrate`,
tests). The version table lives in the service's schema, `search_path` is that schema alone,
a lock timeout keeps a migration from queueing behind live traffic forever, and an advisory
lock serialises instances of one service that start together.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


def alembic_config(database_url: str, script_location: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade_to_head(database_url: str, script_location: Path) -> None:
    """Apply every pending migration of one service (blocking; run it in a thread)."""
    command.upgrade(alembic_config(database_url, script_location), "head")


def downgrade_to_base(database_url: str, script_location: Path) -> None:
    command.downgrade(alembic_config(database_url, script_location), "base")


def run_env(schema: str, target_metadata: sa.MetaData | None = None) -> None:
    """Body of a service's `env.py` (online mode only)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None

    def migrate(connection: Connection) -> None:
        lock_key = f"roleplay-migrate:{schema}"
        connection.execute(sa.text("select pg_advisory_lock(hashtext(:k))"), {"k": lock_key})
        try:
            connection.execute(sa.text(f'create schema if not exists "{schema}"'))
            connection.execute(sa.text(f'set search_path to "{schema}"'))
            connection.execute(sa.text("set lock_timeout = '10s'"))
            connection.commit()
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                version_table_schema=schema,
                include_schemas=False,
                transaction_per_migration=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(sa.text("select pg_advisory_unlock(hashtext(:k))"), {"k": lock_key})
            connection.commit()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
        finally:
            await engine.dispose()

    asyncio.run(main())
