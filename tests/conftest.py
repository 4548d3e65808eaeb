"""Fixture layer shared by every test level: real Kafka, PostgreSQL and MinIO.

Where the servers come from, in this order:
1. endpoints given by environment variables (`ROLEPLAY_KAFKA_BOOTSTRAP_SERVERS`,
   `ROLEPLAY_DATABASE_URL`, `ROLEPLAY_S3_ENDPOINT`, ...): used as they are;
2. testcontainers, when a Docker daemon answers;
3. the project's local toolkit (`roleplay_local.infra.up()`), which starts them on loopback.

Each test session isolates itself: its own database (created here, dropped at the end), its
own topic prefix and its own bucket prefix, so parallel or repeated runs never see each
other's data.
"""

from __future__ import annotations

import inspect
import os
import secrets
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.support.endpoints import Endpoints, endpoints_from_env, endpoints_from_testcontainers
from tests.support.hang_guard import bounded
from tests.support.kafka import delete_topics


@dataclass(frozen=True)
class IsolatedEnv:
    """Endpoints plus this session's isolation prefixes, as service environment variables."""

    endpoints: Endpoints
    database_url: str
    topic_prefix: str
    bucket_prefix: str
    secrets: dict[str, str] = field(default_factory=lambda: session_secrets())

    def as_env(self) -> dict[str, str]:
        env = self.endpoints.as_env()
        env.update(self.secrets)
        env.update(
            ROLEPLAY_DATABASE_URL=self.database_url,
            ROLEPLAY_KAFKA_TOPIC_PREFIX=self.topic_prefix,
            ROLEPLAY_S3_BUCKET_PREFIX=self.bucket_prefix,
        )
        return env


def session_secrets() -> dict[str, str]:
    """Secrets of this test session's services, made for it (services refuse known ones)."""
    webhook = secrets.token_urlsafe(32)
    return {
        "GATEWAY_JWT_SECRET": secrets.token_urlsafe(48),
        "GATEWAY_WEBHOOK_SECRET": webhook,
        "SCENES_WEBHOOK_SECRET": webhook,
        "GATEWAY_ADMIN_PASSWORD": secrets.token_urlsafe(18),
        "ROLEPLAY_SERVICE_TOKEN": secrets.token_urlsafe(32),
    }


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    given = endpoints_from_env()
    if given is not None:
        yield given
        return
    with endpoints_from_testcontainers() as from_containers:
        if from_containers is not None:
            yield from_containers
            return
    from roleplay_local import infra

    yield infra.up()


@pytest.fixture(scope="session")
async def test_env(endpoints: Endpoints) -> AsyncIterator[IsolatedEnv]:
    async with isolated_env(endpoints) as env:
        with applied(env):
            yield env


@asynccontextmanager
async def isolated_env(
    endpoints: Endpoints, secrets: dict[str, str] | None = None
) -> AsyncIterator[IsolatedEnv]:
    """A database of its own (dropped at the end), a topic prefix and a bucket prefix."""
    run = uuid.uuid4().hex[:10]
    database = f"test_{run}"
    admin = await asyncpg.connect(_plain(endpoints.database_url))
    try:
        await admin.execute(f'create database "{database}"')
    finally:
        await admin.close()
    env = IsolatedEnv(
        endpoints=endpoints,
        database_url=_with_database(endpoints.database_url, database),
        topic_prefix=f"t{run}.",
        bucket_prefix=f"t{run}-",
        secrets=secrets if secrets is not None else session_secrets(),
    )
    try:
        yield env
    finally:
        admin = await asyncpg.connect(_plain(endpoints.database_url))
        try:
            await admin.execute(f'drop database if exists "{database}" with (force)')
        finally:
            await admin.close()
        try:
            await delete_topics(endpoints.kafka_bootstrap_servers, env.topic_prefix)
        except Exception as exc:  # cleanup only: the run's result stands
            warnings.warn(f"could not delete the session's topics: {exc!r}", stacklevel=1)


@contextmanager
def applied(env: IsolatedEnv) -> Iterator[None]:
    """`env` in the process environment (where service settings read it) until the block ends."""
    saved = {k: os.environ.get(k) for k in env.as_env()}
    os.environ.update(env.as_env())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
async def fresh_database(test_env: IsolatedEnv) -> AsyncIterator[str]:
    """An empty database of its own for one test (migration tests); returns its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_plain(test_env.endpoints.database_url))
    try:
        await admin.execute(f'create database "{name}"')
        yield _with_database(test_env.endpoints.database_url, name)
    finally:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Bound every coroutine test inside its event loop (`tests/support/hang_guard.py`)."""
    for item in items:
        test = getattr(item, "obj", None)
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(test):
            item.obj = bounded(test)
