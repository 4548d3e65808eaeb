"""Body limits and rate limits on the real gateway: 413 and 429 in the contract's error shape."""

from __future__ import annotations

import base64
import io
import json
import os
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from PIL import Image, PngImagePlugin

from roleplay_gateway.app import create_app
from tests.conftest import IsolatedEnv
from tests.gateway.conftest import Caller, NewCaller, assert_error, gateway_settings
from tests.support.services import running

MIB = 1024 * 1024


def noisy_png(megabytes: float, *, card: dict[str, Any] | None = None) -> bytes:
    """An incompressible PNG of about `megabytes`, optionally carrying a card."""
    side = int((megabytes * MIB / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    info = PngImagePlugin.PngInfo()
    if card:
        info.add_text("chara", base64.b64encode(json.dumps(card).encode()).decode())
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, compress_level=0)
    return out.getvalue()


async def test_bodies_over_1_mib_are_413(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    big = b'{"name": "' + b"x" * MIB + b'"}'
    for path in ("/v1/characters", "/v1/scene-templates", "/v1/auth/login"):
        response = await user.post(path, content=big, headers={"content-type": "application/json"})
        assert_error(response, 413, "payload_too_large")
    assert_error(await user.patch("/v1/me", content=big), 413)


async def test_card_imports_and_portraits_may_be_up_to_8_mib(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Heavy"}}
    two_mib_card = noisy_png(2, card=card)
    assert len(two_mib_card) > 2 * MIB
    imported = await user.post("/v1/characters/import", files={"file": ("c.png", two_mib_card)})
    assert imported.status_code == 201, imported.text
    character_id = imported.json()["id"]

    portrait = noisy_png(3)
    uploaded = await user.post(
        f"/v1/characters/{character_id}/portrait", files={"file": ("p.png", portrait)}
    )
    assert uploaded.status_code == 200, uploaded.text

    too_big = noisy_png(8.2)
    assert len(too_big) > 8 * MIB
    assert_error(
        await user.post("/v1/characters/import", files={"file": ("c.png", too_big)}),
        413,
        "payload_too_large",
    )
    assert_error(
        await user.post(
            f"/v1/characters/{character_id}/portrait", files={"file": ("p.png", too_big)}
        ),
        413,
        "payload_too_large",
    )


def some_address() -> str:
    """A client address of the test's own, so no other test shares its limits."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def client_of(app: FastAPI, address: str | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address or some_address(), 123))
    return httpx.AsyncClient(transport=transport, base_url="http://gw")


async def register(client: httpx.AsyncClient, password: str = "long enough") -> Caller:
    name = uuid.uuid4().hex[:10]
    email = f"{name}@example.com"
    registered = await client.post(
        "/v1/auth/register", json={"email": email, "password": password, "username": name}
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    return Caller(body["user"]["id"], email, body["access_token"], client)


@pytest.fixture(scope="module")
async def strict_gateways(test_env: IsolatedEnv) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two gateway instances on the same database, each allowing a burst of 3 requests per
    caller, then one a second."""
    settings = gateway_settings(rate_limit_per_minute=60, rate_limit_burst=3)
    a, b = create_app(settings), create_app(settings)
    async with running(a), running(b):
        yield a, b


async def test_each_caller_is_rate_limited_with_retry_after(
    strict_gateways: tuple[FastAPI, FastAPI],
) -> None:
    async with client_of(strict_gateways[0]) as client:
        user = await register(client)  # the address's bucket, not the user's
        statuses = [(await user.get("/v1/me")).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = await user.get("/v1/me")
        assert_error(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert_error(await user.post("/v1/characters", json={"name": "x"}), 429)

        # Health checks are never limited; other callers have their own bucket.
        assert (await client.get("/healthz")).status_code == 200
        anonymous = await client.get("/v1/models")
        assert anonymous.status_code == 401  # the registration used the address's bucket once
        other = await register(client)
        assert (await other.get("/v1/me")).status_code == 200


async def test_the_limit_is_shared_by_every_gateway_instance(
    strict_gateways: tuple[FastAPI, FastAPI], test_env: IsolatedEnv
) -> None:
    a, b = strict_gateways
    async with client_of(a) as on_a, client_of(b) as on_b:
        user = await register(on_a)
        as_user = {"Authorization": f"Bearer {user.token}"}
        assert (await on_a.get("/v1/me", headers=as_user)).status_code == 200
        assert (await on_b.get("/v1/me", headers=as_user)).status_code == 200
        assert (await on_a.get("/v1/me", headers=as_user)).status_code == 200
        for client in (on_b, on_a):
            limited = await client.get("/v1/me", headers=as_user)
            assert_error(limited, 429, "rate_limited")
            assert "Retry-After" in limited.headers

        # Unauthenticated callers are limited per address, across instances too.
        address = some_address()
        async with client_of(a, address) as first, client_of(b, address) as second:
            codes = [(await c.get("/v1/models")).status_code for c in (first, second, first)]
            assert codes == [401, 401, 401]
            assert_error(await second.get("/v1/models"), 429, "rate_limited")
            async with client_of(b) as elsewhere:
                assert (await elsewhere.get("/v1/models")).status_code == 401

    admin = await asyncpg.connect(test_env.database_url.replace("+asyncpg", ""))
    try:
        keys = await admin.fetch(
            "select key from identity.rate_limits where key = any($1::text[])",
            [f"user:{user.id}", f"ip:{address}"],
        )
    finally:
        await admin.close()
    assert len(keys) == 2


@pytest.fixture(scope="module")
async def guarded_logins(test_env: IsolatedEnv) -> AsyncIterator[FastAPI]:
    """A gateway allowing 3 failed logins per account and 5 per address in 15 minutes."""
    app = create_app(gateway_settings(login_failures_per_account=3, login_failures_per_address=5))
    async with running(app):
        yield app


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


async def test_failed_logins_are_throttled_per_account(guarded_logins: FastAPI) -> None:
    async with client_of(guarded_logins) as client:
        user = await register(client, "the right one")
        for _ in range(2):
            assert_error(await login(client, user.email, "wrong"), 401, "invalid_credentials")
        # A success forgets the account's failures...
        assert (await login(client, user.email.upper(), "the right one")).status_code == 200
        for _ in range(3):
            assert_error(await login(client, user.email, "wrong"), 401, "invalid_credentials")
        # ...past the limit even the right password waits, from any address.
        async with client_of(guarded_logins) as elsewhere:
            for attempt in (client, elsewhere):
                refused = await login(attempt, user.email, "the right one")
                assert_error(refused, 429, "too_many_login_attempts")
                assert 800 < int(refused.headers["Retry-After"]) <= 900


async def test_failed_logins_are_throttled_per_address(guarded_logins: FastAPI) -> None:
    address = some_address()
    async with client_of(guarded_logins, address) as client:
        users = [await register(client, "the right one") for _ in range(3)]
        for user in users[:2]:
            for _ in range(2):
                assert_error(await login(client, user.email, "wrong"), 401)
        # A success does not forget the address's failures, but does not count as one.
        assert (await login(client, users[2].email, "the right one")).status_code == 200
        assert_error(await login(client, "nobody@example.com", "wrong"), 401)
        refused = await login(client, users[2].email, "the right one")
        assert_error(refused, 429, "too_many_login_attempts")
        assert int(refused.headers["Retry-After"]) > 800
    async with client_of(guarded_logins) as elsewhere:
        assert (await login(elsewhere, users[2].email, "the right one")).status_code == 200
