"""A usage service process that dies right after its first batch is committed to PostgreSQL,
before its consumer commits the Kafka offsets — a crash at the worst moment.

    python -m tests.usage.integration.crash_after_commit   (exits with CRASHED)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from decimal import Decimal

from roleplay_common.service import Runtime
from roleplay_usage import handlers
from roleplay_usage.app import create_app
from roleplay_usage.ingest import Call, ingest
from tests.support.services import running

CRASHED = 17


async def ingest_then_die(
    runtime: Runtime, batch: Sequence[Call], *, initial_credits: Decimal
) -> int:
    new = await ingest(runtime, batch, initial_credits=initial_credits)
    if new:
        print(f"committed {new} new call(s); dying before the offset commit", flush=True)
        os._exit(CRASHED)
    return new


async def main() -> None:
    setattr(handlers, "ingest", ingest_then_die)  # noqa: B010 (as a test's monkeypatch would)
    async with running(create_app()):
        await asyncio.sleep(120)
    raise SystemExit("no batch arrived")


if __name__ == "__main__":
    asyncio.run(main())
