"""What the STAND-IN remembers while it runs: knobs, the requests it received (for tests to
assert on), webhook deliveries, image files, and the fal jobs and Replicate predictions."""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict, deque
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from fastapi import Request

from roleplay_standin.images import FileStore
from roleplay_standin.knobs import Family, Knobs

if TYPE_CHECKING:
    from roleplay_standin.fal_queue import FalJob
    from roleplay_standin.replicate import Prediction

RECENT_LIMIT = 1000
JOB_LIMIT = 10_000
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key"}


K = TypeVar("K")
V = TypeVar("V")


class Bounded(OrderedDict[K, V], Generic[K, V]):
    """A dict that forgets its oldest entries past `limit`."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        while len(self) > self.limit:
            self.popitem(last=False)


class StandinState:
    def __init__(self, knobs: Knobs, public_url: str | None) -> None:
        self.knobs = knobs
        self.public_url = public_url.rstrip("/") if public_url else None
        self.requests: deque[dict[str, Any]] = deque(maxlen=RECENT_LIMIT)
        self.webhooks: deque[dict[str, Any]] = deque(maxlen=RECENT_LIMIT)
        self.files = FileStore(JOB_LIMIT)
        self.fal_jobs: Bounded[str, FalJob] = Bounded(JOB_LIMIT)
        self.predictions: Bounded[str, Prediction] = Bounded(JOB_LIMIT)
        self.tasks: set[asyncio.Task[None]] = set()
        self._numbers = itertools.count(1)

    def base_url(self, request: Request) -> str:
        """Where clients reach us: `--public-url`, or the address this request came to."""
        return self.public_url or str(request.base_url).rstrip("/")

    def record(
        self,
        request: Request,
        family: Family,
        model: str | None,
        body: Any,
        outcome: str = "ok",
    ) -> dict[str, Any]:
        """Remember a request that asked for work; the entry is returned so the handler can
        set its `outcome` once known."""
        auth = request.headers.get("authorization", "")
        entry = {
            "seq": next(self._numbers),
            "time": datetime.now(UTC).isoformat(),
            "family": family,
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "model": model,
            "headers": public_headers(request.headers),
            "auth_scheme": auth.split(" ", 1)[0] if auth else None,
            "body": body,
            "outcome": outcome,
        }
        self.requests.append(entry)
        return entry

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background, kept alive until done, cancelled at shutdown."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def public_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS}


def state_of(request: Request) -> StandinState:
    return cast(StandinState, request.app.state.standin)
