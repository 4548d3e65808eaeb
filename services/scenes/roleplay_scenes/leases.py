"""Job leases, so that no job stays `processing` when its instance dies.

A runner holds a lease on every job it has accepted or taken over, renewed every third of
`SCENES_LEASE_SECONDS` while the job waits or runs. A job whose lease has expired (its instance
crashed, or was stopped) is taken over by whichever instance sweeps first — the restarted one
included — up to `SCENES_MAX_ATTEMPTS` runs in all; after that it fails `job_abandoned`. A
runner that finds a lease it held now belongs to someone else stops its copy of the job.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_scenes.store import SceneJob


def lease_until(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def renew(
    session: AsyncSession, owner: str, job_ids: Iterable[uuid.UUID], seconds: float
) -> set[uuid.UUID]:
    """Extend this owner's leases on unfinished jobs; returns the ids it still holds."""
    ids = list(job_ids)
    if not ids:
        return set()
    kept = await session.execute(
        sa.update(SceneJob)
        .where(
            col(SceneJob.id).in_(ids),
            col(SceneJob.lease_owner) == owner,
            col(SceneJob.finished_at).is_(None),
        )
        .values(lease_expires_at=lease_until(seconds))
        .returning(col(SceneJob.id))
    )
    return set(kept.scalars())


async def release(session: AsyncSession, owner: str) -> None:
    """Let the others take this owner's unfinished jobs at once (a graceful stop)."""
    await session.execute(
        sa.update(SceneJob)
        .where(col(SceneJob.lease_owner) == owner, col(SceneJob.finished_at).is_(None))
        .values(lease_expires_at=datetime.now(UTC))
    )


async def expired(session: AsyncSession, limit: int = 50) -> list[SceneJob]:
    """Unfinished jobs past their lease, locked for this transaction (others skip them)."""
    rows = await session.execute(
        sa.select(SceneJob)
        .where(
            col(SceneJob.finished_at).is_(None),
            col(SceneJob.lease_expires_at) < datetime.now(UTC),
        )
        .order_by(col(SceneJob.created_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars())
