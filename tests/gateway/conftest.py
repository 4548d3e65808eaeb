"""A gateway running in-process on the session's real PostgreSQL, Kafka and MinIO, and people
to call it as: registered users, the seeded admin, users of an external identity provider.

The gateway trusts an external provider's HS256 tokens (`EXTERNAL_SECRET`, audience
`authenticated`, as Supabase issues them). Its rate limit is high so only the limit tests meet
it (they run their own instance).
"""

from __future__ import annotations

import struct
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from roleplay_common.service import Runtime
from roleplay_gateway.settings import GatewaySettings
from tests.conftest import IsolatedEnv
from tests.support.services import running

EXTERNAL_SECRET = "external-provider-shared-secret-0123456789"
EXTERNAL_AUDIENCE = "authenticated"


def gateway_settings(**overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "external_jwt_secret": EXTERNAL_SECRET,
        "external_jwt_audience": EXTERNAL_AUDIENCE,
        "rate_limit_per_minute": 100_000,
        "rate_limit_burst": 100_000,
        "worker_health_interval_seconds": 3600,
        **overrides,
    }
    return GatewaySettings(**values)


@dataclass
class Gateway:
    client: httpx.AsyncClient
    runtime: Runtime
    settings: GatewaySettings


@dataclass
class Caller:
    """A person with a token, calling the gateway."""

    id: str
    email: str
    token: str
    client: httpx.AsyncClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.headers, **kw)

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.post(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    async def patch(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.patch(path, headers=self.headers, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.delete(path, headers=self.headers, **kw)


NewCaller = Callable[..., Awaitable[Caller]]


@pytest.fixture(scope="package")
async def gateway(test_env: IsolatedEnv) -> AsyncIterator[Gateway]:
    from roleplay_gateway.app import create_app

    settings = gateway_settings()
    app = create_app(settings)
    async with running(app) as client:
        yield Gateway(client, app.state.runtime, settings)


@pytest.fixture
async def new_user(gateway: Gateway) -> NewCaller:
    """Registers a fresh user (optionally age-verified) and returns them as a caller."""

    async def make(*, age_verified: bool = False) -> Caller:
        name = f"u{uuid.uuid4().hex[:10]}"
        email = f"{name}@example.com"
        response = await gateway.client.post(
            "/v1/auth/register",
            json={"email": email, "password": "correct horse", "username": name},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        caller = Caller(body["user"]["id"], email, body["access_token"], gateway.client)
        if age_verified:
            assert (await caller.patch("/v1/me", json={"age_verified": True})).status_code == 200
        return caller

    return make


@pytest.fixture
async def admin(gateway: Gateway) -> Caller:
    """The admin seeded from `GATEWAY_ADMIN_EMAIL` / `GATEWAY_ADMIN_PASSWORD`."""
    settings = gateway.settings
    response = await gateway.client.post(
        "/v1/auth/login",
        json={
            "email": settings.admin_email,
            "password": settings.admin_password.get_secret_value(),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Caller(body["user"]["id"], settings.admin_email, body["access_token"], gateway.client)


def external_token(
    user_id: uuid.UUID, *, secret: str = EXTERNAL_SECRET, ttl: int | None = 300, **claims: Any
) -> str:
    """A token as an external identity provider (Supabase Auth) issues them; `ttl=None`
    leaves `exp` out, a claim set to None is left out."""
    values: dict[str, Any] = {
        "sub": str(user_id),
        "aud": EXTERNAL_AUDIENCE,
        "iss": "https://auth.example/auth/v1",
        "role": "authenticated",
        **claims,
    }
    if ttl is not None:
        values["exp"] = int(time.time()) + ttl
    return jwt.encode({k: v for k, v in values.items() if v is not None}, secret, algorithm="HS256")


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    """The contract's error shape with the expected status (and code)."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "details"}, error
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error


def bomb() -> bytes:
    """A PNG header claiming 50000 x 50000 pixels: Pillow refuses it as a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
