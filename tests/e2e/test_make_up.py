"""`roleplay up` (what `make up` runs): every process starts, answers /readyz, a service
killed with SIGKILL is restarted while the others keep running, and SIGTERM stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

from tests.conftest import IsolatedEnv
from tests.support.servers import free_port

NAMES = ("gateway", "chat", "scenes", "library", "usage")


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _child_running(parent: int, module: str) -> int | None:
    for pid in _children(parent):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if module.encode() in command and _alive(pid):
            return pid
    return None


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_roleplay_up_starts_everything_restarts_what_dies_and_sigterm_stops_it(
    test_env: IsolatedEnv, fresh_database: str, tmp_path: Path
) -> None:
    ports = {name: free_port() for name in (*NAMES, "standin")}
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        **test_env.as_env(),
        # Its own database, topics and buckets: the other tests' services keep theirs.
        "ROLEPLAY_DATABASE_URL": fresh_database,
        "ROLEPLAY_KAFKA_TOPIC_PREFIX": f"up{run}.",
        "ROLEPLAY_S3_BUCKET_PREFIX": f"up{run}-",
        **{f"{n.upper()}_PORT": str(p) for n, p in ports.items()},
        "ROLEPLAY_DATA_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "roleplay_local.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output: list[str] = []
    up = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in iter(process.stdout.readline, b""):
            output.append(line.decode(errors="replace"))
            if "roleplay is up" in output[-1]:
                up.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert up.wait(150), "".join(output[-40:])
        with httpx.Client(timeout=5) as client:
            for name in NAMES:
                ready = client.get(f"http://127.0.0.1:{ports[name]}/readyz")
                assert ready.status_code == 200, (name, ready.text)
                assert ready.json()["checks"] == {
                    "broker": "ok",
                    "database": "ok",
                    "storage": "ok",
                }
            standin = client.get(f"http://127.0.0.1:{ports['standin']}/healthz")
            assert standin.headers["x-standin"] == "true"
        children = _children(process.pid)
        assert len(children) == len(NAMES) + 1

        chat = _child_running(process.pid, "roleplay_chat")
        assert chat is not None
        os.kill(chat, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            again = _child_running(process.pid, "roleplay_chat")
            if again not in (None, chat) and _ready(ports["chat"]):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("chat was not restarted:\n" + "".join(output[-40:]))
        assert any("chat exited with code -9; restarting" in line for line in output)
        assert children - {chat} <= _children(process.pid), "the others kept running"

        children = _children(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(45) == 0
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
