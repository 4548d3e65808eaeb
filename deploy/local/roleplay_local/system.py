"""`roleplay up`: the whole system as local processes, and `roleplay migrate`.

Starts the infrastructure (or uses the endpoints given by `ROLEPLAY_*` variables), the
provider stand-in and the five services, each its own process with its output prefixed by
its name, waits until every `/readyz` answers 200, prints where the gateway is, and stops
everything it started on Ctrl-C or SIGTERM. If one service dies, the others are stopped too.
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


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    module: str
    port: int
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    @property
    def health_url(self) -> str:
        path = "/healthz" if self.name == "standin" else "/readyz"
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
    def __init__(self, specs: list[ProcessSpec], env: dict[str, str], log_dir: Path) -> None:
        self.specs = specs
        self.env = env
        self.log_dir = log_dir
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self._pumps: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.specs:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                spec.module,
                *spec.args,
                env={**self.env, **spec.env},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            self.processes[spec.name] = process
            self._pumps.append(asyncio.create_task(self._pump(spec.name, process)))

    async def _pump(self, name: str, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        with (self.log_dir / f"{name}.log").open("ab") as log_file:
            async for line in process.stdout:
                log_file.write(line)
                log_file.flush()
                sys.stdout.write(f"[{name:>7}] {line.decode(errors='replace')}")
                sys.stdout.flush()

    async def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            for spec in self.specs:
                while True:
                    self._raise_if_died()
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(spec.health_url)).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{spec.name} is not ready after {timeout:.0f}s")
                    await asyncio.sleep(0.3)

    def _raise_if_died(self) -> None:
        for name, process in self.processes.items():
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}")

    async def wait_any_exit(self) -> str:
        waits = {asyncio.create_task(p.wait()): name for name, p in self.processes.items()}
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        return waits[next(iter(done))]

    async def stop(self, grace: float = 15.0) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            remaining = max(deadline - time.monotonic(), 0.1)
            try:
                await asyncio.wait_for(process.wait(), remaining)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)


async def run_system(
    env: dict[str, str],
    *,
    standin: bool,
    log_dir: Path,
    announce: Callable[[str], None] = print,
) -> int:
    """Run until a signal or a child's death; returns the exit code."""
    specs = service_specs(env, standin=standin)
    system = System(specs, env, log_dir)
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
            gateway = next(s for s in specs if s.name == "gateway")
            announce(
                f"\nroleplay is up: gateway at http://127.0.0.1:{gateway.port} "
                f"(logs in {log_dir}); Ctrl-C stops everything.\n"
            )
            died = asyncio.create_task(system.wait_any_exit())
            await asyncio.wait({died, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if died.done():
                announce(f"{died.result()} exited; stopping the others.")
                code = 1
            died.cancel()
        else:
            ready.cancel()
        stopped.cancel()
    except (TimeoutError, RuntimeError) as exc:
        announce(f"roleplay could not start: {exc}")
        code = 1
    finally:
        await system.stop()
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
