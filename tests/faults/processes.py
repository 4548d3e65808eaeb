"""Real service processes for fault tests: started with `python -m`, killed for real."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class Service:
    name: str
    module: str
    port: int
    env: dict[str, str]
    log: Path
    args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def ready(self, timeout: float = 90.0) -> None:
        path = "/healthz" if self.name == "standin" else "/readyz"
        async with httpx.AsyncClient(timeout=2) as client, asyncio.timeout(timeout):
            while True:
                assert self.process is not None and self.process.poll() is None, self.tail()
                try:
                    if (await client.get(self.url + path)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)

    def kill(self) -> None:
        """`kill -9`: no shutdown hook runs, nothing is given back."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
