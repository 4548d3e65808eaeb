"""Detached server processes tracked by pid file: start, find, stop exactly what was started.

A pid file holds the pid and the process's start time (from `/proc/<pid>/stat`), so a pid the
kernel has since given to another program is never taken for our server, nor signalled.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running event loop
    (an async test fixture calling `infra.up()`): then it runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target, name="roleplay-local-probe")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def run_logged(
    command: Sequence[str], *, log_file: Path, what: str, env: dict[str, str] | None = None
) -> None:
    """Run a build or fetch step to completion with its output in `log_file` (not the
    terminal); on failure raise with the log's tail."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("wb") as log:
        code = subprocess.run(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        ).returncode
    if code:
        raise RuntimeError(f"{what} failed (exit {code}); log {log_file}:\n{_tail(log_file)}")


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None if there is no such pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces; the fields after its ")" are plain.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]  # field 22 of the whole line


def running_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that very process is still alive (and not a zombie)."""
    try:
        recorded = pid_file.read_text().split()
        pid = int(recorded[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    if pid <= 0:
        return None
    started = _start_time(pid)
    if started is None or _is_zombie(pid):
        return None
    if len(recorded) > 1 and recorded[1] != started:
        return None  # the pid now belongs to another process
    return pid


def start_detached(
    command: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> int:
    """Start a server in its own session (it outlives this process) and record its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
            user=user,
        )
    pid_file.write_text(f"{process.pid} {_start_time(process.pid) or ''}".strip() + "\n")
    return process.pid


def stop_pid(pid_file: Path, *, timeout: float = 20.0) -> bool:
    """SIGTERM the recorded process, then SIGKILL after `timeout`; True if one was running."""
    pid = running_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running_pid(pid_file) is None:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        while running_pid(pid_file) is not None and time.monotonic() < deadline + 5:
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat[stat.rindex(")") + 2 :].startswith("Z")


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    log_file: Path,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll `check` until it holds; fail early (with the log's tail) if the server exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if alive is not None and not alive():
            raise RuntimeError(f"{what} exited while starting; log tail:\n{_tail(log_file)}")
        time.sleep(0.2)
    raise TimeoutError(
        f"{what} did not become ready in {timeout:.0f}s; log tail:\n{_tail(log_file)}"
    )


def _tail(log_file: Path, chars: int = 3000) -> str:
    try:
        with log_file.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(f.tell() - chars, 0))
            return f.read().decode(errors="replace")
    except OSError:
        return ""
