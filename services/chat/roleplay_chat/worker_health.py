"""Health of local workers, checked in the background and cached (the seed's
`workerHealthCache`): a route whose worker failed its last check is skipped.

A worker is healthy when `GET <health_url>` answers 2xx within the timeout; a result older
than `max_age` is stale and checked again before use.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from roleplay_common.events import ModelRoute
from roleplay_common.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class WorkerStatus:
    healthy: bool
    checked_at: float
    error: str | None = None


class WorkerHealth:
    def __init__(
        self, client: httpx.AsyncClient, *, interval: float = 30.0, max_age: float = 120.0
    ) -> None:
        self.client = client
        self.interval = interval
        self.max_age = max_age
        self.timeout = 3.0
        self._status: dict[str, WorkerStatus] = {}

    async def is_usable(self, route: ModelRoute) -> bool:
        if route.provider_kind != "local_worker" or not route.health_url:
            return True
        status = self._status.get(route.health_url)
        if status is None or time.monotonic() - status.checked_at > self.max_age:
            status = await self.check(route.health_url)
        return status.healthy

    async def check(self, url: str) -> WorkerStatus:
        try:
            response = await self.client.get(url, timeout=self.timeout)
            status = WorkerStatus(response.is_success, time.monotonic(), None)
            if not response.is_success:
                status = WorkerStatus(False, time.monotonic(), f"HTTP {response.status_code}")
        except httpx.HTTPError as exc:
            status = WorkerStatus(False, time.monotonic(), type(exc).__name__)
        if self._status.get(url, status).healthy != status.healthy:
            log.info("worker health changed", url=url, healthy=status.healthy)
        self._status[url] = status
        return status

    async def run(self) -> None:
        """Re-check every known worker every `interval` seconds."""
        while True:
            await asyncio.sleep(self.interval)
            await asyncio.gather(*(self.check(url) for url in list(self._status)))
