"""Body limits (413) in front of any route (rate limits need the database: see
tests/gateway/integration/test_limits.py)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from roleplay_gateway.limits import BodyLimit


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


def client() -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/v1/echo", echo, methods=["POST"]), Route("/healthz", echo)])
    wrapped = BodyLimit(app, default=100, uploads=1000)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t")


async def test_a_body_over_the_limit_is_413_declared_or_streamed() -> None:
    async with client() as c:
        assert (await c.post("/v1/echo", content=b"x" * 100)).json() == {"size": 100}
        too_big = await c.post("/v1/echo", content=b"x" * 101)
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "payload_too_large"

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(5):
                yield b"x" * 50

        streamed = await c.post("/v1/echo", content=chunks())
        assert streamed.status_code == 413
