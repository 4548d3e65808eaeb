"""Time to first token: through the whole system vs calling the provider stand-in directly.

Whole path: client → gateway (auth, catalog, publish `chat.turn.requested`) → Kafka → chat
(persist user message, history, prompt) → stand-in → chat publishes the delta → Kafka →
gateway hub → SSE to the client. Direct: client → stand-in streaming chat completion, first
content chunk. Same machine, same run, same stand-in settings (its first-token latency is
subtracted by neither: both include it).

    make up            # in one terminal
    python -m bench first_delta [--turns 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid

import httpx

GATEWAY = os.environ.get("BENCH_GATEWAY_URL", "http://127.0.0.1:8000")
STANDIN = os.environ.get("BENCH_STANDIN_URL", "http://127.0.0.1:18080")


async def through_system(client: httpx.AsyncClient, conversation_id: str, n: int) -> float:
    started = time.perf_counter()
    async with client.stream(
        "POST",
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": f"bench message {n}"},
        headers={"Accept": "text/event-stream"},
    ) as response:
        first = None
        async for line in response.aiter_lines():
            if line.startswith("event: delta") and first is None:
                first = time.perf_counter() - started
            if line.startswith("event: turn.completed") or line.startswith("event: turn.failed"):
                break
    assert first is not None, "no delta arrived"
    return first


async def direct(client: httpx.AsyncClient, n: int) -> float:
    started = time.perf_counter()
    body = {
        "model": "standin-roleplay",
        "messages": [{"role": "user", "content": f"bench message {n}"}],
        "stream": True,
    }
    first = None
    async with client.stream("POST", f"{STANDIN}/v1/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:") and first is None and '"content": "' in line:
                data = json.loads(line[5:])
                if data["choices"] and data["choices"][0]["delta"].get("content"):
                    first = time.perf_counter() - started
    assert first is not None
    return first


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"{name:>14}: p50 {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   n={len(ms)}"


async def run(turns: int) -> None:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=60) as anon:
        name = f"bench{uuid.uuid4().hex[:8]}"
        registered = await anon.post(
            "/v1/auth/register",
            json={"email": f"{name}@example.com", "password": "bench-password", "username": name},
        )
        registered.raise_for_status()
        token = registered.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=GATEWAY, headers=headers, timeout=60) as client:
        characters = (await client.get("/v1/characters", params={"scope": "public"})).json()
        character_id = characters["items"][0]["id"]
        conversation = await client.post("/v1/conversations", json={"character_id": character_id})
        conversation.raise_for_status()
        conversation_id = conversation.json()["id"]
        await through_system(client, conversation_id, -1)  # warm-up
        system = [await through_system(client, conversation_id, n) for n in range(turns)]
        await direct(client, -1)
        provider = [await direct(client, n) for n in range(turns)]
    print(summary("whole path", system))
    print(summary("stand-in only", provider))
    overhead = statistics.median(system) - statistics.median(provider)
    print(f"{'overhead':>14}: {overhead * 1000:6.1f} ms (median)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("first_delta", nargs="?")
    parser.add_argument("--turns", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.turns))


if __name__ == "__main__":
    main()
