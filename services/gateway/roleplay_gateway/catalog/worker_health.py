"""Health of local workers, checked in the background and kept in `system_config`.

Every `interval` seconds each active `local_worker` provider's health URL is fetched; it is
healthy when it answers 2xx in time and its body, if JSON with a `status`, does not say
otherwise (the seed took any non-empty 2xx). The cache holds one entry per active local worker
(a removed one drops out) with when it was checked and until when the result is trusted;
`GET /v1/admin/workers` shows them and routing skips workers that are unhealthy or stale.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime
from roleplay_gateway.catalog.routing import HEALTH_MAX_AGE, WORKER_HEALTH_KEY
from roleplay_gateway.catalog.store import Provider, SystemConfig

log = get_logger(__name__)


async def check_workers(
    runtime: Runtime, client: httpx.AsyncClient, *, interval: float = 30.0
) -> dict[str, Any]:
    """Check every active local worker now and store the results; returns them."""
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
    trusted_for = max(HEALTH_MAX_AGE, timedelta(seconds=3 * interval))
    results = dict(await asyncio.gather(*(_check(client, w, trusted_for) for w in workers)))
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


async def _check(
    client: httpx.AsyncClient, worker: Provider, trusted_for: timedelta
) -> tuple[str, dict[str, Any]]:
    url = worker.health_url or f"{worker.base_url.rstrip('/')}/health"
    started = time.monotonic()
    error: str | None = None
    healthy = False
    try:
        response = await client.get(url, timeout=5.0)
        error = _problem(response)
        healthy = error is None
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    checked = datetime.now(UTC)
    return worker.name, {
        "is_healthy": healthy,
        "last_checked": checked.isoformat(),
        "valid_until": (checked + trusted_for).isoformat(),
        "response_time_ms": int((time.monotonic() - started) * 1000),
        "health_error": error,
        "worker_url": url,
    }


def _problem(response: httpx.Response) -> str | None:
    """Why a health answer is not healthy, or None."""
    if not response.is_success:
        return f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return None
    status = body.get("status") if isinstance(body, dict) else None
    if isinstance(status, str) and status.lower() in ("error", "unhealthy", "down", "failing"):
        return f"status {status}"
    return None


async def watch_workers(runtime: Runtime, interval: float) -> None:
    """Check the local workers every `interval` seconds for the life of the process."""
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await check_workers(runtime, client, interval=interval)
            except Exception:
                log.exception("worker health check failed")
            await asyncio.sleep(interval)
