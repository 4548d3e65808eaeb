"""Keeping a 2 MB scene: server-side copy vs download and re-upload (MinIO, same run).

make infra-up && python -m bench keep_copy [--rounds 30] [--size 2000000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

from roleplay_common.settings import StorageSettings
from roleplay_common.storage import USER_LIBRARY, WORKSPACE_TEMP, ObjectStorage


async def run(rounds: int, size: int) -> None:
    storage = ObjectStorage(StorageSettings())
    await storage.ensure_buckets()
    source = f"bench/{uuid.uuid4()}.png"
    await storage.put(WORKSPACE_TEMP, source, os.urandom(size), "image/png")

    copy, relay = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        await storage.copy(WORKSPACE_TEMP, source, USER_LIBRARY, f"bench/{uuid.uuid4()}.png")
        copy.append(time.perf_counter() - started)

        started = time.perf_counter()
        stored = await storage.get(WORKSPACE_TEMP, source)
        await storage.put(
            USER_LIBRARY, f"bench/{uuid.uuid4()}.png", stored.data, stored.content_type
        )
        relay.append(time.perf_counter() - started)

    def line(name: str, samples: list[float]) -> str:
        ms = sorted(s * 1000 for s in samples)
        p95 = ms[int(len(ms) * 0.95) - 1]
        return f"{name:>22}: p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms"

    print(f"object of {size} bytes, {rounds} rounds")
    print(line("server-side copy", copy))
    print(line("download + re-upload", relay))
    print(
        f"{'speed-up':>22}: {statistics.median(relay) / statistics.median(copy):.1f}x "
        f"(and 0 bytes through the service instead of {2 * size})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("keep_copy", nargs="?")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--size", type=int, default=2_000_000)
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.size))


if __name__ == "__main__":
    main()
