"""`roleplay up` supervises its processes: a real child killed with SIGKILL is logged and
restarted with backoff while the others keep running; SIGTERM still stops everything."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from asyncio.subprocess import PIPE, STDOUT
from pathlib import Path

import httpx

from roleplay_local.supervisor import restart_delay
from roleplay_local.system import ProcessSpec, System
from tests.support.servers import free_port


def web_server(name: str, port: int) -> ProcessSpec:
    """A real child process that answers HTTP, as a service would."""
    return ProcessSpec(
        name, "http.server", port, (str(port), "--bind", "127.0.0.1"), health_path="/"
    )


async def answers(port: int) -> bool:
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            return (await client.get(f"http://127.0.0.1:{port}/")).status_code == 200
    except httpx.HTTPError:
        return False


async def eventually(check: object, timeout: float = 20.0) -> None:
    assert callable(check)
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.1)


def test_the_restart_delay_grows_and_is_capped() -> None:
    delays = [restart_delay(n, first=1.0, cap=30.0) for n in range(1, 8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


async def test_a_service_that_exits_is_restarted_and_the_others_keep_running(
    tmp_path: Path,
) -> None:
    ports = {"one": free_port(), "two": free_port()}
    said: list[str] = []
    system = System(
        [web_server(n, p) for n, p in ports.items()],
        dict(os.environ),
        tmp_path,
        said.append,
        first_delay=0.2,
    )
    await system.start()
    try:
        await system.wait_ready(timeout=30)
        one, two = system.supervisors["one"], system.supervisors["two"]
        first_pid, other_pid = one.pid, two.pid
        assert first_pid is not None
        for crash in (1, 2):
            killed = one.pid
            assert killed is not None
            os.kill(killed, signal.SIGKILL)
            await eventually(lambda k=killed: _restarted(one.pid, k, ports["one"]))
            assert one.restarts == crash
        assert two.pid == other_pid and two.running, "the other service was left alone"
        assert any("one exited with code -9; restarting in 0s (restart 1)" in s for s in said)
        assert any("restart 2" in s for s in said), said
        assert "[roleplay up] one exited with code -9" in (tmp_path / "one.log").read_text()
    finally:
        await system.stop(grace=5)
    assert not one.running and not two.running
    assert not await answers(ports["one"]) and not await answers(ports["two"])


async def _restarted(pid: int | None, killed: int, port: int) -> bool:
    return pid is not None and pid != killed and await answers(port)


async def test_sigterm_stops_the_system_and_every_child(tmp_path: Path) -> None:
    port = free_port()
    script = textwrap.dedent(
        f"""
        import asyncio, os, pathlib
        from roleplay_local.system import ProcessSpec, run_system
        spec = ProcessSpec("web", "http.server", {port}, ("{port}", "--bind", "127.0.0.1"),
                           health_path="/")
        code = asyncio.run(run_system(dict(os.environ), standin=False,
                                      log_dir=pathlib.Path({str(tmp_path)!r}), specs=[spec]))
        raise SystemExit(code)
        """
    )
    parent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=PIPE, stderr=STDOUT
    )
    try:
        await eventually(lambda: answers(port), timeout=30)
        parent.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            out, _ = await parent.communicate()
        code = parent.returncode
        output = out.decode()
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.wait()
    assert code == 0, output
    assert "roleplay stopped." in output
    assert not await answers(port), "the child was stopped too"
