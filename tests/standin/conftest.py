"""The provider STAND-IN as a real uvicorn server on a free loopback port, in its own thread,
and a small webhook receiver beside it, so tests speak real HTTP to both."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from roleplay_standin.app import create_app
from tests.support.servers import free_port


class ThreadedServer:
    """A uvicorn server running `app` in a background thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """Collects the POSTs it receives; `fail_next` answers that many with 500 first."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue[Delivery] = queue.Queue()
        self.fail_next = 0
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> JSONResponse:
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"error": "not now"}, status_code=500)
        self.deliveries.put(Delivery(request.url.path, dict(request.headers), await request.body()))
        return JSONResponse({"ok": True})

    async def next(self, timeout: float = 5.0) -> Delivery:
        return await asyncio.to_thread(self.deliveries.get, True, timeout)

    def drain(self) -> None:
        while not self.deliveries.empty():
            self.deliveries.get_nowait()


@pytest.fixture(scope="session")
def standin_url() -> Iterator[str]:
    with ThreadedServer(create_app()) as server:
        yield server.url


@pytest.fixture(scope="session")
def _receiver_server() -> Iterator[tuple[WebhookReceiver, str]]:
    receiver = WebhookReceiver()
    with ThreadedServer(receiver.app) as server:
        yield receiver, server.url


@pytest.fixture
def receiver(_receiver_server: tuple[WebhookReceiver, str]) -> WebhookReceiver:
    found, _ = _receiver_server
    found.drain()
    found.fail_next = 0
    return found


@pytest.fixture
def receiver_url(_receiver_server: tuple[WebhookReceiver, str]) -> str:
    return _receiver_server[1]


@pytest.fixture
async def standin(standin_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the stand-in, reset to its start-up knobs before each test."""
    async with httpx.AsyncClient(base_url=standin_url, timeout=10) as client:
        (await client.post("/_standin/reset")).raise_for_status()
        yield client
        await client.post("/_standin/reset")
