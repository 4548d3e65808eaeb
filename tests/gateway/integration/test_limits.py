"""Body limits and rate limits on the real gateway: 413 and 429 in the contract's error shape."""

from __future__ import annotations

import base64
import io
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
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


@pytest.fixture
async def strict_gateway(test_env: IsolatedEnv) -> AsyncIterator[Caller]:
    """A gateway allowing a burst of 3 requests, then one a second."""
    app = create_app(gateway_settings(rate_limit_per_minute=60, rate_limit_burst=3))
    async with running(app) as client:
        name = uuid.uuid4().hex[:10]
        registered = await client.post(
            "/v1/auth/register",
            json={"email": f"{name}@example.com", "password": "long enough", "username": name},
        )
        assert registered.status_code == 201, registered.text
        body = registered.json()
        yield Caller(body["user"]["id"], f"{name}@example.com", body["access_token"], client)


async def test_each_caller_is_rate_limited_with_retry_after(strict_gateway: Caller) -> None:
    user = strict_gateway
    statuses = [(await user.get("/v1/me")).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = await user.get("/v1/me")
    assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert_error(await user.post("/v1/characters", json={"name": "x"}), 429)

    # Health checks are never limited; other callers have their own bucket.
    assert (await user.client.get("/healthz")).status_code == 200
    anonymous = await user.client.get("/v1/models")
    assert anonymous.status_code == 401  # the registration used the address's bucket once
