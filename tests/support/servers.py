"""Serve ASGI apps on real loopback ports inside the test's event loop (lifespan included)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from roleplay_common.http import SERVER_KEEPALIVE_SECONDS
from tests.support.hang_guard import dump_tasks

STOP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serve(app: Any, port: int, *, lifespan: str = "on") -> AsyncIterator[str]:
    """Run `app` on 127.0.0.1:`port` until the block ends; yields its base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan=lifespan,
        timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited before it started")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        # A service's stop waits up to its broker's graceful timeout (15 s) for handlers in
        # flight and bounds each of its hooks (`roleplay_common.service.stop_service`). One
        # that still hangs would leave its consumers running in this loop, taking later
        # tests' work: say so, with the stacks, rather than go on.
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=STOP_SECONDS)
        except TimeoutError:
            stacks = dump_tasks()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise RuntimeError(
                f"the service on port {port} did not stop in {STOP_SECONDS:.0f} s:\n{stacks}"
            ) from None
