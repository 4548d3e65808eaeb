"""Body limits (413) and per-user rate limits (429 with Retry-After) in front of any route."""

from __future__ import annotations

import uuid

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from roleplay_gateway.auth import tokens
from roleplay_gateway.limits import BodyLimit, RateLimit
from roleplay_gateway.settings import GatewaySettings


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


def client(settings: GatewaySettings) -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/v1/echo", echo, methods=["POST"]), Route("/healthz", echo)])
    wrapped = BodyLimit(RateLimit(app, settings), default=100, uploads=1000)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t")


async def test_a_body_over_the_limit_is_413_declared_or_streamed() -> None:
    async with client(GatewaySettings(rate_limit_burst=100)) as c:
        assert (await c.post("/v1/echo", content=b"x" * 100)).json() == {"size": 100}
        too_big = await c.post("/v1/echo", content=b"x" * 101)
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "payload_too_large"

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(5):
                yield b"x" * 50

        streamed = await c.post("/v1/echo", content=chunks())
        assert streamed.status_code == 413


async def test_each_user_has_a_bucket_and_waits_are_announced() -> None:
    settings = GatewaySettings(rate_limit_per_minute=60, rate_limit_burst=2)
    alice = tokens.issue(settings, uuid.uuid4(), ["basic_user"])
    bob = tokens.issue(settings, uuid.uuid4(), ["basic_user"])
    async with client(settings) as c:
        as_alice = {"Authorization": f"Bearer {alice}"}
        assert [(await c.post("/v1/echo", headers=as_alice)).status_code for _ in range(2)] == [
            200,
            200,
        ]
        limited = await c.post("/v1/echo", headers=as_alice)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        assert (
            await c.post("/v1/echo", headers={"Authorization": f"Bearer {bob}"})
        ).status_code == 200
        assert (await c.get("/healthz")).status_code == 200
