"""The stand-in speaks the providers' protocols, failures included (it backs many tests)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image

from roleplay_standin.app import create_app


@pytest.fixture
async def standin() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app("http://standin")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://standin"
    ) as c:
        yield c


def chunks(body: str) -> list[str]:
    return [line[5:].strip() for line in body.splitlines() if line.startswith("data:")]


async def test_streaming_chat_follows_the_openai_chunk_format(standin: httpx.AsyncClient) -> None:
    response = await standin.post(
        "/v1/chat/completions",
        json={
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "max_tokens": 5,
            "stream_options": {"include_usage": True},
        },
    )
    assert response.headers["x-standin"] == "true"
    data = chunks(response.text)
    assert data[-1] == "[DONE]"
    parsed = [json.loads(d) for d in data[:-1]]
    assert parsed[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(p["object"] == "chat.completion.chunk" for p in parsed)
    text = "".join(p["choices"][0]["delta"].get("content", "") for p in parsed if p["choices"])
    final = next(p for p in parsed if p["choices"] and p["choices"][0]["finish_reason"])
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["usage"]["completion_tokens"] == 5
    assert parsed[-1]["choices"] == [] and parsed[-1]["usage"] == final["usage"]
    assert "(m)" in text


async def test_failures_are_injected_per_model_and_streams_can_be_cut(
    standin: httpx.AsyncClient,
) -> None:
    await standin.post(
        "/_standin/config",
        json={
            "failures": [
                {"family": "chat", "model": "a", "status": 429, "count": 1},
                {"family": "chat", "model": "b", "kind": "cut", "after_chunks": 2, "count": 1},
            ]
        },
    )
    body = {"messages": [{"role": "user", "content": "x"}], "stream": True}
    limited = await standin.post("/v1/chat/completions", json={**body, "model": "a"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert (
        await standin.post("/v1/chat/completions", json={**body, "model": "a"})
    ).status_code == 200
    cut = await standin.post("/v1/chat/completions", json={**body, "model": "b"})
    assert "[DONE]" not in cut.text and len(chunks(cut.text)) == 3
    assert (
        await standin.post("/v1/chat/completions", json={**body, "model": "c"})
    ).status_code == 200


async def test_fal_queue_lifecycle_returns_a_real_png(standin: httpx.AsyncClient) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 0})
    submitted = (await standin.post("/fal/standin-image", json={"prompt": "a lighthouse"})).json()
    assert {"request_id", "status_url", "response_url", "cancel_url"} <= set(submitted)
    status = await standin.get(submitted["status_url"])
    assert status.json()["status"] == "COMPLETED"
    result = (await standin.get(submitted["response_url"])).json()
    image = await standin.get(result["images"][0]["url"])
    assert Image.open(io.BytesIO(image.content)).size == (512, 512)
    assert (await standin.post("/fal/standin-image", json={})).status_code == 422
