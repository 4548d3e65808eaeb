"""Async SQLAlchemy/SQLModel engine bound to one service's own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from roleplay_common.settings import DatabaseSettings


class Database:
    """The engine and session factory of one service; `search_path` is its schema only."""

    def __init__(self, settings: DatabaseSettings, *, schema: str, application_name: str) -> None:
        self.schema = schema
        self.url = settings.url.get_secret_value()
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_pre_ping=settings.pre_ping,
            echo=settings.echo,
            connect_args={
                "server_settings": {
                    "search_path": schema,
                    "application_name": application_name,
                }
            },
        )
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for lookups that need no transaction: each statement runs on its own
        (autocommit), so a request's reads cost their queries and no BEGIN/COMMIT round
        trips. Not for writes that must commit together."""
        async with self.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            async with AsyncSession(bind=autocommit, expire_on_commit=False) as session:
                yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("select 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
