"""`roleplay up`: the whole system as local processes, and `roleplay migrate`.

Starts the infrastructure (or uses the endpoints given by `ROLEPLAY_*` variables), the
provider stand-in and the five services, each its own process with its output prefixed by
its name, waits until every `/readyz` answers 200, prints where the gateway is, and stops
everything it started on Ctrl-C or SIGTERM. A service that exits is logged and restarted with
a growing delay (`supervisor.py`), like a compose restart policy; the others keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from roleplay_local.supervisor import Supervisor


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    module: str
    port: int
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    health_path: str | None = None

    @property
    def health_url(self) -> str:
        path = self.health_path or ("/healthz" if self.name == "standin" else "/readyz")
        return f"http://127.0.0.1:{self.port}{path}"


def service_specs(env: dict[str, str], *, standin: bool) -> list[ProcessSpec]:
    """The processes of the system, with ports from the environment (defaults for `make up`)."""

    def port(name: str, default: int) -> int:
        return int(env.get(f"{name.upper()}_PORT", default))

    specs = []
    if standin:
        standin_port = int(env.get("STANDIN_PORT", 18080))
        specs.append(
            ProcessSpec(
                "standin",
                "roleplay_standin",
                standin_port,
                ("--host", "127.0.0.1", "--port", str(standin_port)),
            )
        )
    specs += [
        ProcessSpec("chat", "roleplay_chat", port("chat", 8001)),
        ProcessSpec("scenes", "roleplay_scenes", port("scenes", 8002)),
        ProcessSpec("library", "roleplay_library", port("library", 8003)),
        ProcessSpec("usage", "roleplay_usage", port("usage", 8004)),
        ProcessSpec("gateway", "roleplay_gateway", port("gateway", 8000)),
    ]
    return specs


def system_env(base: dict[str, str], infra_env: dict[str, str]) -> dict[str, str]:
    """The environment of every child: given variables win over the local defaults."""
    env = {**infra_env, **base}
    env.setdefault("PYTHONUNBUFFERED", "1")
    ports = {n: env.get(f"{n.upper()}_PORT", str(p)) for n, p in _DEFAULT_PORTS.items()}
    for name in ("chat", "scenes", "library", "usage"):
        env.setdefault(f"GATEWAY_{name.upper()}_URL", f"http://127.0.0.1:{ports[name]}")
    env.setdefault("GATEWAY_STANDIN_URL", f"http://127.0.0.1:{env.get('STANDIN_PORT', '18080')}")
    env.setdefault("SCENES_WEBHOOK_BASE_URL", f"http://127.0.0.1:{ports['gateway']}")
    return env


_DEFAULT_PORTS = {"gateway": 8000, "chat": 8001, "scenes": 8002, "library": 8003, "usage": 8004}


class System:
    """The processes of the system, each under a `Supervisor` (restarted when it exits)."""

    def __init__(
        self,
        specs: list[ProcessSpec],
        env: dict[str, str],
        log_dir: Path,
        announce: Callable[[str], None] = print,
        **restart: float,
    ) -> None:
        self.specs = specs
        self.supervisors = {
            spec.name: Supervisor(
                spec.name,
                [sys.executable, "-m", spec.module, *spec.args],
                env={**env, **spec.env},
                log_file=log_dir / f"{spec.name}.log",
                announce=announce,
                **restart,
            )
            for spec in specs
        }

    async def start(self) -> None:
        for supervisor in self.supervisors.values():
            await supervisor.start()

    async def wait_ready(self, timeout: float = 120.0) -> None:
        """Until every process answers its health URL; a process that exits meanwhile is
        restarted, so only the timeout fails this."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            for spec in self.specs:
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(spec.health_url)).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{spec.name} is not ready after {timeout:.0f}s")
                    await asyncio.sleep(0.3)

    async def stop(self, grace: float = 15.0) -> None:
        for supervisor in self.supervisors.values():
            supervisor.signal_stop()
        deadline = time.monotonic() + grace
        for supervisor in self.supervisors.values():
            await supervisor.stop(deadline - time.monotonic())


async def run_system(
    env: dict[str, str],
    *,
    standin: bool,
    log_dir: Path,
    announce: Callable[[str], None] = print,
    specs: list[ProcessSpec] | None = None,
) -> int:
    """Run until SIGINT or SIGTERM, restarting a process that exits; returns the exit code
    (1 when the system never became ready)."""
    specs = specs if specs is not None else service_specs(env, standin=standin)
    system = System(specs, env, log_dir, announce)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    code = 0
    await system.start()
    try:
        ready = asyncio.create_task(system.wait_ready())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({ready, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if ready.done():
            ready.result()
            gateway = next((s for s in specs if s.name == "gateway"), specs[-1])
            announce(
                f"\nroleplay is up: gateway at http://127.0.0.1:{gateway.port} "
                f"(logs in {log_dir}); a service that exits is restarted; "
                "Ctrl-C stops everything.\n"
            )
            await stopped
        else:
            ready.cancel()
        stopped.cancel()
    except TimeoutError as exc:
        announce(f"roleplay could not start: {exc}")
        code = 1
    finally:
        await system.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        announce("roleplay stopped.")
    return code


def migrate_all(database_url: str) -> list[str]:
    """Apply every service's migrations to their own schemas."""
    import importlib

    from roleplay_common.db.migrations import upgrade_to_head

    done = []
    for name in ("gateway", "chat", "scenes", "library", "usage"):
        migrations: Path = importlib.import_module(f"roleplay_{name}.app").MIGRATIONS
        upgrade_to_head(database_url, migrations)
        done.append(name)
    return done
