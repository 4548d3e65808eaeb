"""N concurrent streaming turns: the system, the provider directly, and a LiteLLM proxy.

Against a system started by `make up` (one gateway, one chat process, the stand-in). For each
profile the stand-in is set to the profile's reply length and token rate, then each path runs
the same N concurrent streams in turn, in the same run:

- `short`: 60 tokens at 200 tok/s, 1 at a time, then 10 and 100 concurrent;
- `realistic`: 300 tokens at 50 tok/s, 100 concurrent;
- `crowd`: 100 tokens at 10 tok/s, 1,000 concurrent.

Per path it prints time to first delta (p50/p95/p99), the time it adds over direct, the round
time and its ratio to direct, turns/s, text deltas/s and CPU seconds per turn of each process.
It checks every system turn: completed, `seq` contiguous, deltas equal to the stored reply.

    make up                                 # in one terminal
    python -m bench stream_load [--profile realistic] [--paths system,direct,litellm]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import uuid
from dataclasses import dataclass, replace

import httpx

from bench.stream_load.litellm_proxy import running_proxy
from bench.stream_load.paths import CompletionsPath, Path, StreamResult, SystemPath
from bench.stream_load.processes import cpu_seconds, cpu_times, service_pids, steal_share
from bench.stream_load.report import Round, print_rounds

GATEWAY = os.environ.get("BENCH_GATEWAY_URL", "http://127.0.0.1:8000")
STANDIN = os.environ.get("BENCH_STANDIN_URL", "http://127.0.0.1:18080")
LITELLM_PORT = int(os.environ.get("BENCH_LITELLM_PORT", "18400"))
MODEL = "standin-roleplay"


@dataclass(frozen=True)
class Load:
    profile: str
    tokens: int
    rate: float
    concurrency: int
    sequential: int = 0  # >0: that many turns one at a time instead


PROFILES: dict[str, list[Load]] = {
    "short": [
        Load("short", 60, 200, 1, sequential=30),
        Load("short", 60, 200, 10),
        Load("short", 60, 200, 100),
    ],
    "realistic": [Load("realistic", 300, 50, 100)],
    "crowd": [Load("crowd", 100, 10, 1000)],
}


async def _configure_standin(load: Load) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{STANDIN}/_standin/config",
            json={"output_tokens": load.tokens, "tokens_per_second": load.rate},
        )
        response.raise_for_status()


async def _conversations(count: int) -> list[tuple[str, str]]:
    """`count` conversations spread over max(25, count/25) new users."""
    users = max(25, -(-count // 25))
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=60) as client:
        tokens = []
        for _ in range(users):
            name = f"load{uuid.uuid4().hex[:10]}"
            response = await client.post(
                "/v1/auth/register",
                json={
                    "email": f"{name}@example.com",
                    "password": "bench-password-1",
                    "username": name,
                },
            )
            response.raise_for_status()
            tokens.append(response.json()["access_token"])
        auth = {"Authorization": f"Bearer {tokens[0]}"}
        characters = await client.get("/v1/characters", params={"scope": "public"}, headers=auth)
        character_id = characters.json()["items"][0]["id"]

        async def create(n: int) -> tuple[str, str]:
            token = tokens[n % users]
            response = await client.post(
                "/v1/conversations",
                json={"character_id": character_id},
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            return token, str(response.json()["id"])

        made: list[tuple[str, str]] = []
        for start in range(0, count, 50):
            made += await asyncio.gather(*(create(n) for n in range(start, min(count, start + 50))))
        return made


async def _run_round(path: Path, load: Load, pids: dict[str, int]) -> Round:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    machine_before = cpu_times()
    loop = asyncio.get_running_loop()
    started = loop.time()
    results: list[StreamResult]
    if load.sequential:
        results = [await path.stream(n) for n in range(load.sequential)]
    else:
        results = list(await asyncio.gather(*(path.stream(n) for n in range(load.concurrency))))
    elapsed = loop.time() - started
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    return Round(
        path=path.name,
        load=f"{load.profile} x{load.concurrency}"
        + (" (one at a time)" if load.sequential else ""),
        results=results,
        elapsed=elapsed,
        cpu={name: after[name] - before[name] for name in pids},
        check_seq=path.check_seq,
        steal=steal_share(machine_before, cpu_times()),
    )


async def run(profiles: list[str], paths: list[str], concurrency: int | None = None) -> None:
    loads = [load for p in profiles for load in PROFILES[p]]
    if concurrency:
        loads = list({replace(load, concurrency=concurrency, sequential=0): None for load in loads})
    most = max(max(load.concurrency, load.sequential) for load in loads)
    conversations = await _conversations(most) if "system" in paths else []
    pids = service_pids()
    rounds: list[Round] = []
    with (
        running_proxy(STANDIN, MODEL, LITELLM_PORT) if "litellm" in paths else _no_proxy() as (
            litellm_url,
            litellm_pid,
            litellm_key,
        )
    ):
        if litellm_pid:
            pids["litellm"] = litellm_pid
        candidates: dict[str, Path] = {
            "system": SystemPath(GATEWAY, conversations),
            "direct": CompletionsPath("direct", STANDIN, MODEL),
            "litellm": CompletionsPath(
                "litellm", litellm_url or "", MODEL, {"Authorization": f"Bearer {litellm_key}"}
            ),
        }
        chosen = [candidates[p] for p in paths]
        for load in loads:
            await _configure_standin(load)
            for path in chosen:
                await asyncio.gather(*(path.stream(-1 - n) for n in range(3)))  # warm-up
                rounds.append(await _run_round(path, load, pids))
                print(rounds[-1].line(), flush=True)
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print_rounds(rounds)


class _no_proxy:
    def __enter__(self) -> tuple[str | None, int | None, str]:
        return None, None, ""

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench stream_load")
    parser.add_argument("bench", nargs="?")
    parser.add_argument("--profile", default="short,realistic,crowd")
    parser.add_argument("--paths", default="system,direct,litellm")
    parser.add_argument("--concurrency", type=int, help="run each profile at this many only")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run(args.profile.split(","), args.paths.split(","), args.concurrency))
