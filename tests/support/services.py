"""Run a service's FastAPI app in-process, lifespan included, with an HTTP client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI

from roleplay_common.service_auth import service_headers
from roleplay_common.settings import ServiceAuthSettings


def as_a_service() -> dict[str, str]:
    """The headers another service sends: the session's service token."""
    return service_headers(ServiceAuthSettings())


@asynccontextmanager
async def running(
    app: FastAPI, *, headers: dict[str, str] | None = None, address: str = "127.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    """`address`: the client address the app sees (rate limits and login throttling key on it)."""
    transport = httpx.ASGITransport(app=app, client=(address, 123))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://svc", headers=headers) as c,
    ):
        yield c


@asynccontextmanager
async def running_all(*apps: FastAPI) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(running(app)) for app in apps]
