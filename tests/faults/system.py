"""A system of real service processes for one fault test, on its isolated database/topics/buckets.

Instances are named `<kind>` or `<kind>_<letter>` (`chat_a`, `scenes_b`); each gets a free
port. The gateway talks to the instance named in `targets` for each kind (by default the
last instance of that kind, the one a test keeps alive), and to a closed port for any kind
not started, so it never reaches another system's servers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from tests.conftest import IsolatedEnv
from tests.faults.processes import Service
from tests.support.servers import free_port

MODULES = {
    "standin": "roleplay_standin",
    "gateway": "roleplay_gateway",
    "chat": "roleplay_chat",
    "scenes": "roleplay_scenes",
    "library": "roleplay_library",
    "usage": "roleplay_usage",
}
CLOSED = "http://127.0.0.1:9"


def kind_of(name: str) -> str:
    return name.split("_")[0]


@asynccontextmanager
async def real_system(
    env: IsolatedEnv,
    logs: Path,
    names: Sequence[str],
    *,
    extra: Mapping[str, str] | None = None,
    targets: Mapping[str, str] | None = None,
) -> AsyncIterator[dict[str, Service]]:
    """Start `names` together, wait until each is ready, stop them all at the end."""
    ports = {name: free_port() for name in names}
    chosen = {kind_of(name): name for name in names}
    chosen.update(targets or {})
    base = {**os.environ, **env.as_env(), "PYTHONUNBUFFERED": "1"}
    base.update(
        GATEWAY_RATE_LIMIT_PER_MINUTE="100000",
        GATEWAY_RATE_LIMIT_BURST="100000",
    )
    for kind in ("chat", "scenes", "library", "usage", "standin"):
        name = chosen.get(kind)
        base[f"GATEWAY_{kind.upper()}_URL"] = (
            f"http://127.0.0.1:{ports[name]}" if name is not None else CLOSED
        )
    base.update(extra or {})
    services: dict[str, Service] = {}
    for name in names:
        kind, port = kind_of(name), ports[name]
        services[name] = Service(
            name,
            MODULES[kind],
            port,
            {**base, f"{kind.upper()}_PORT": str(port)},
            logs / f"{name}.log",
            ("--host", "127.0.0.1", "--port", str(port)) if kind == "standin" else (),
        )
    try:
        # All at once: each migrates only its own schema (instances of one kind take turns
        # on its advisory lock), and nothing calls another service while it starts.
        for service in services.values():
            service.start()
        await asyncio.gather(*(service.ready() for service in services.values()))
        yield services
    finally:
        for service in services.values():
            service.stop()
