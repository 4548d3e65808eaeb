"""Security headers on every response, a web client that runs under its CSP, and operator
routes (`/metrics`, `/asyncapi`) that are not public."""

from __future__ import annotations

import re

import httpx

from tests.gateway.conftest import Gateway, assert_error
from tests.support.services import as_a_service


def assert_secured(response: httpx.Response) -> str:
    """The headers every response carries; returns its policy."""
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    return policy


async def test_api_responses_carry_the_security_headers(gateway: Gateway) -> None:
    client = gateway.client
    for response in (
        await client.get("/healthz"),
        await client.get("/v1/models"),  # a 401
        await client.get("/openapi.json"),
        await client.post("/v1/auth/login", content=b"x" * (2 * 1024 * 1024)),  # a 413
        await client.get("/metrics"),  # refused by the service token guard
    ):
        assert assert_secured(response) == "default-src 'none'; frame-ancestors 'none'"
    assert_secured(await client.get("/docs"))


def sources(policy: str, directive: str) -> list[str]:
    for part in policy.split(";"):
        name, *values = part.split()
        if name == directive:
            return values
    return []


async def test_the_web_client_works_under_its_policy(gateway: Gateway) -> None:
    page = await gateway.client.get("/")
    assert page.status_code == 200, "build the web client first: make web"
    policy = assert_secured(page)
    assert sources(policy, "default-src") == ["'none'"]
    storage = gateway.settings.storage
    storage_origin = f"http://{storage.public_endpoint or storage.endpoint}"
    assert sources(policy, "connect-src") == ["'self'", storage_origin]
    assert storage_origin in sources(policy, "img-src")

    # Scripts and styles come from files of this origin; nothing inline may run.
    for directive in ("script-src", "style-src"):
        assert sources(policy, directive) == ["'self'"]
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", page.text), "an inline script"
    assert "<style" not in page.text
    assert not re.search(r"<[^>]+\son\w+\s*=", page.text), "inline event handlers are blocked"
    assert not re.search(r"<[^>]+\sstyle\s*=", page.text), "inline style attributes are blocked"

    # The files the page names are served, and a name outside the build is not.
    for path in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text):
        asset = await gateway.client.get(path)
        assert asset.status_code == 200 and asset.content
        assert "immutable" in asset.headers["cache-control"]
    assert (await gateway.client.get("/assets/..%2F..%2Fpackage.json")).status_code == 404
    assert (await gateway.client.get("/assets/missing.js")).status_code == 404


async def test_metrics_and_asyncapi_need_the_service_token(gateway: Gateway) -> None:
    client = gateway.client
    for path in ("/metrics", "/asyncapi"):
        assert_error(await client.get(path), 401, "invalid_service_token")
        user_token = {"Authorization": "Bearer not-the-service-token"}
        assert_error(await client.get(path, headers=user_token), 401, "invalid_service_token")
        assert (await client.get(path, headers=as_a_service())).status_code == 200
    metrics = await client.get("/metrics", headers=as_a_service())
    assert "roleplay_http_requests_total" in metrics.text
