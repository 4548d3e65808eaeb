"""The workspace expiry sweeper removes expired objects and their rows, nothing else."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from roleplay_common.db.migrations import upgrade_to_head
from roleplay_common.service import Runtime
from roleplay_common.storage import WORKSPACE_TEMP
from roleplay_scenes.app import MIGRATIONS
from roleplay_scenes.jobs import JobRunner
from roleplay_scenes.settings import ScenesSettings
from roleplay_scenes.store import SCHEMA, WorkspaceAsset
from tests.conftest import IsolatedEnv


async def test_expired_workspace_assets_are_swept(test_env: IsolatedEnv) -> None:
    settings = ScenesSettings()
    await asyncio.to_thread(upgrade_to_head, test_env.database_url, MIGRATIONS)
    runtime = Runtime.create("scenes", SCHEMA, settings)
    await runtime.storage.ensure_buckets()
    jobs = JobRunner(runtime, settings, httpx.AsyncClient())
    scene = uuid.uuid4()
    old, fresh = f"sweep/{uuid.uuid4()}.png", f"sweep/{uuid.uuid4()}.png"
    for key in (old, fresh):
        await runtime.storage.put(WORKSPACE_TEMP, key, b"png", "image/png")
    async with runtime.db.transaction() as session:
        for key, expires in ((old, -1), (fresh, 1)):
            session.add(
                WorkspaceAsset(
                    user_id=uuid.uuid4(),
                    scene_id=scene,
                    bucket=WORKSPACE_TEMP,
                    key=key,
                    content_type="image/png",
                    size=3,
                    expires_at=datetime.now(UTC) + timedelta(hours=expires),
                )
            )
    try:
        assert await jobs.sweep_expired() >= 1
        assert not await runtime.storage.exists(WORKSPACE_TEMP, old)
        assert await runtime.storage.exists(WORKSPACE_TEMP, fresh)
        async with runtime.db.transaction() as session:
            assert await session.get(WorkspaceAsset, (await _id(runtime, fresh))) is not None
        assert await _id(runtime, old) is None
    finally:
        await jobs.http.aclose()
        await runtime.db.dispose()


async def _id(runtime: Runtime, key: str) -> uuid.UUID | None:
    import sqlalchemy as sa
    from sqlmodel import col

    async with runtime.db.transaction() as session:
        found: uuid.UUID | None = await session.scalar(
            sa.select(col(WorkspaceAsset.id)).where(col(WorkspaceAsset.key) == key)
        )
        return found
