"""Body limits (413) in front of any route, and what happens when the limit state cannot be
reached (the limits themselves need the database: tests/gateway/integration/test_limits.py)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from roleplay_common.http import ApiError
from roleplay_gateway.limits import BodyLimit, RateLimit
from roleplay_gateway.limits_store import LoginLimits, SharedLimits
from roleplay_gateway.settings import GatewaySettings


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


def unreachable_limits() -> SharedLimits:
    """Limit state whose database never answers (the pool is never started)."""
    return SharedLimits("postgresql://nobody@127.0.0.1:9/none", LoginLimits(10, 50, 900))


async def test_requests_pass_when_the_limit_cannot_be_checked() -> None:
    app = Starlette(routes=[Route("/v1/echo", echo, methods=["POST"])])
    limited = RateLimit(app, GatewaySettings(rate_limit_burst=1), unreachable_limits())
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert [(await c.post("/v1/echo")).status_code for _ in range(3)] == [200, 200, 200]


async def test_logins_are_a_503_when_their_counts_cannot_be_kept() -> None:
    with pytest.raises(ApiError) as refused:
        await unreachable_limits().count_login("someone@example.com", "10.0.0.1")
    assert refused.value.status == 503 and refused.value.headers["Retry-After"]
