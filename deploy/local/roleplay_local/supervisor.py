"""One child process of `roleplay up`, kept running like a compose `restart: unless-stopped`.

The child is started in a session of its own, its output goes to its log file and to the
terminal prefixed by its name. When it exits without being asked to, the exit is announced
and it is started again after a delay that doubles from `first_delay` up to `max_delay`; a
run that lasted `stable_after` seconds resets the delay. `stop()` ends it: SIGTERM, then
SIGKILL after the grace period. Exits and restarts are announced and written to the log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
STABLE_AFTER = 60.0


def restart_delay(failures: int, *, first: float, cap: float) -> float:
    """Seconds before restart number `failures` (1-based) in a row."""
    return float(min(first * 2 ** max(failures - 1, 0), cap))


class Supervisor:
    def __init__(
        self,
        name: str,
        command: list[str],
        *,
        env: dict[str, str],
        log_file: Path,
        announce: Callable[[str], None],
        first_delay: float = RESTART_FIRST_DELAY,
        max_delay: float = RESTART_MAX_DELAY,
        stable_after: float = STABLE_AFTER,
    ) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_file = log_file
        self.announce = announce
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._started = asyncio.Event()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        """Start the child and keep it running until `stop()`."""
        await self._spawn()
        self._task = asyncio.create_task(self._supervise(), name=f"supervise-{self.name}")

    async def _spawn(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._pump = asyncio.create_task(self._copy_output(self.process))

    async def _copy_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        with self.log_file.open("ab") as log:
            async for line in process.stdout:
                log.write(line)
                log.flush()
                sys.stdout.write(f"[{self.name:>7}] {line.decode(errors='replace')}")
                sys.stdout.flush()

    async def _supervise(self) -> None:
        failures = 0
        while True:
            assert self.process is not None
            began = time.monotonic()
            code = await self.process.wait()
            if self._pump is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._pump, 2.0)
            if self._stopping:
                return
            failures = 1 if time.monotonic() - began >= self.stable_after else failures + 1
            delay = restart_delay(failures, first=self.first_delay, cap=self.max_delay)
            self._note(
                f"{self.name} exited with code {code}; restarting in {delay:.0f}s "
                f"(restart {self.restarts + 1})"
            )
            await asyncio.sleep(delay)
            if self._stopping:
                return
            self.restarts += 1
            await self._spawn()
            self._note(f"{self.name} restarted (pid {self.pid})")

    def _note(self, message: str) -> None:
        """Announce on the terminal, and leave it in the process's log file too."""
        self.announce(message)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with self.log_file.open("a") as log:
            log.write(f"{stamp} [roleplay up] {message}\n")

    def signal_stop(self) -> None:
        """Ask the child to end (SIGTERM) and stop restarting it."""
        self._stopping = True
        if self.running:
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    async def stop(self, grace: float) -> None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL."""
        self.signal_stop()
        if self.process is not None:
            try:
                await asyncio.wait_for(self.process.wait(), max(grace, 0.1))
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        for task in (self._task, self._pump):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._task, self._pump) if t is not None), return_exceptions=True
        )
