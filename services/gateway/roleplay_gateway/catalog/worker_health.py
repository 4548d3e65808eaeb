"""Health of local workers, checked in the background and kept in `system_config`.

Every `interval` seconds each active `local_worker` provider's health URL is fetched; it is
healthy when it answers 2xx in time. Results are merged per worker (the seed replaced the whole
cache) with when they were checked; `GET /v1/admin/workers` shows them and routing skips the
unhealthy ones.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime
from roleplay_gateway.catalog.routing import WORKER_HEALTH_KEY
from roleplay_gateway.catalog.store import Provider, SystemConfig

log = get_logger(__name__)


async def check_workers(runtime: Runtime, client: httpx.AsyncClient) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        workers = (
            (
                await session.execute(
                    sa.select(Provider).where(
                        col(Provider.kind) == "local_worker", col(Provider.is_active)
                    )
                )
            )
            .scalars()
            .all()
        )
    results = dict(await asyncio.gather(*(_check(client, w) for w in workers)))
    async with runtime.db.transaction() as session:
        table = SystemConfig.__table__  # type: ignore[attr-defined]
        await session.execute(
            insert(table)
            .values(key=WORKER_HEALTH_KEY, value=results, updated_at=datetime.now(UTC))
            .on_conflict_do_update(
                index_elements=["key"],
                set_={"value": results, "updated_at": datetime.now(UTC)},
            )
        )
    return results


async def _check(client: httpx.AsyncClient, worker: Provider) -> tuple[str, dict[str, Any]]:
    url = worker.health_url or f"{worker.base_url.rstrip('/')}/health"
    started = time.monotonic()
    error: str | None = None
    healthy = False
    try:
        response = await client.get(url, timeout=5.0)
        healthy = response.is_success
        error = None if healthy else f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    return worker.name, {
        "is_healthy": healthy,
        "last_checked": datetime.now(UTC).isoformat(),
        "response_time_ms": int((time.monotonic() - started) * 1000),
        "health_error": error,
        "worker_url": url,
    }


async def watch_workers(runtime: Runtime, interval: float) -> None:
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await check_workers(runtime, client)
            except Exception:
                log.exception("worker health check failed")
            await asyncio.sleep(interval)
