"""Over real HTTP: every internal service refuses a caller without the service token, answers
one with it, and leaves its health routes open; the gateway's own calls carry the token (the
other e2e tests would fail otherwise)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.support.services import as_a_service


def internal_reads(stack: Stack) -> dict[str, str]:
    user = uuid.uuid4()
    return {
        "chat": f"{stack.chat}/internal/conversations?user_id={user}",
        "scenes": f"{stack.scenes}/internal/conversations/{uuid.uuid4()}/scenes?user_id={user}",
        "library": f"{stack.library}/internal/assets?user_id={user}",
        "usage": f"{stack.usage}/internal/balances/{user}",
    }


@pytest.mark.parametrize("service", ["chat", "scenes", "library", "usage"])
async def test_an_internal_api_answers_only_the_service_token(stack: Stack, service: str) -> None:
    url = internal_reads(stack)[service]
    base = url.split("/internal/")[0]
    async with httpx.AsyncClient(timeout=10) as client:
        for headers in ({}, {"Authorization": "Bearer someone-elses-token-0123456789"}):
            refused = await client.get(url, headers=headers)
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"]["code"] == "invalid_service_token"
        answered = await client.get(url, headers=as_a_service())
        assert answered.status_code == 200, answered.text
        for path in ("/healthz", "/readyz"):
            assert (await client.get(f"{base}{path}")).status_code == 200
        assert (await client.get(f"{base}/metrics")).status_code == 401
